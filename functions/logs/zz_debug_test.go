package logs_test

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/logs"
	lt "github.com/envhub/envhub/infra/local/localtest"
)

func TestZZPodGone(t *testing.T) {
	setVar(t, &logs.PodsEvery, 300*time.Millisecond)
	f := setup(t, "w10")
	pod := f.pod(t, "w10")
	c := dial(t, f.e, lt.Alice)
	c.subscribed(subscribe("w10", "id", "e1", "pod", pod, "container", "web", "tails", 0))
	following(t, f, c)
	zero := int64(0)
	ctx := context.Background()
	if err := f.c.Typed.CoreV1().Pods(project+"-env-w10").Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		p, err := f.c.Typed.CoreV1().Pods(project+"-env-w10").Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			t.Logf("%d: %v", i, err)
		} else {
			t.Logf("%d: %s phase %s deletion %v finalizers %v", i, p.Name, p.Status.Phase, p.DeletionTimestamp, p.Finalizers)
		}
		select {
		case m := <-c.in:
			t.Logf("msg %+v", m)
		case <-time.After(time.Second):
		}
	}
}
