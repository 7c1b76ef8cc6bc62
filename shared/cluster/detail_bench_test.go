package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/envhub/envhub/shared/cluster"
)

const benchSelector = "s-service=web"

// benchService makes a namespace holding webService(10) with its 10 pods
// Running, deleted (and waited for) when the benchmark ends so the next one
// does not run beside its teardown.
func benchService(b *testing.B) (*cluster.Cluster, string) {
	c, _ := connect(b)
	// Without client-go's token bucket (QPS 100): six Lists per call in a
	// tight loop would otherwise time the limiter (~60 ms), not the calls.
	cfg := *c.Config
	cfg.QPS = -1
	c, err := cluster.FromConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ns := fmt.Sprintf("bench-so-%d", time.Now().UnixNano()%1e9)
	if err := c.EnsureNamespace(ctx, ns, nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.DeleteNamespace(context.Background(), ns, true) })
	if _, err := c.Apply(ctx, ns, []byte(webService(10)), map[string]string{"s-service": "web"}); err != nil {
		b.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := c.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: benchSelector})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == "Ready" && cond.Status == "True" && p.DeletionTimestamp == nil {
					ready++
				}
			}
		}
		return ready == 10, nil
	})
	if err != nil {
		b.Fatalf("10 pods not ready: %v", err)
	}
	return c, ns
}

// p50s holds each benchmark's median of this run, so the second one can
// print the ratio.
var p50s = map[string]time.Duration{}

// timeCalls runs call in b.Loop, reports its median and prints the ratio
// of the adapter to the direct calls once both have run.
func timeCalls(b *testing.B, call func(context.Context) error) {
	ctx := context.Background()
	for range 3 { // warm connections and the apiserver's caches
		if err := call(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := call(ctx); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	p50 := took[len(took)/2]
	b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
	p50s[b.Name()] = p50
	a, okA := p50s["BenchmarkServiceObjects"]
	d, okD := p50s["BenchmarkServiceObjectsDirect"]
	if okA && okD {
		b.Logf("10 ready pods, local kube-apiserver, p50: adapter (6 Lists, concurrent) %v, direct client-go (6 Lists, sequential) %v, ratio adapter/direct %.2fx",
			a.Round(time.Microsecond), d.Round(time.Microsecond), float64(a)/float64(d))
	}
}

// BenchmarkServiceObjects times the adapter's read of one service's objects.
func BenchmarkServiceObjects(b *testing.B) {
	c, ns := benchService(b)
	timeCalls(b, func(ctx context.Context) error {
		objs, err := c.ServiceObjects(ctx, ns, benchSelector)
		if err == nil && len(objs.Pods) != 10 {
			err = fmt.Errorf("%d pods", len(objs.Pods))
		}
		return err
	})
}

// BenchmarkServiceObjectsDirect times the same six Lists with plain client-go, one after another.
func BenchmarkServiceObjectsDirect(b *testing.B) {
	c, ns := benchService(b)
	opts := metav1.ListOptions{LabelSelector: benchSelector}
	timeCalls(b, func(ctx context.Context) error {
		if _, err := c.Typed.AppsV1().Deployments(ns).List(ctx, opts); err != nil {
			return err
		}
		if _, err := c.Typed.AppsV1().StatefulSets(ns).List(ctx, opts); err != nil {
			return err
		}
		if _, err := c.Typed.BatchV1().CronJobs(ns).List(ctx, opts); err != nil {
			return err
		}
		pods, err := c.Typed.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return err
		}
		if len(pods.Items) != 10 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		if _, err := c.Typed.CoreV1().Services(ns).List(ctx, opts); err != nil {
			return err
		}
		_, err = c.Typed.NetworkingV1().Ingresses(ns).List(ctx, opts)
		return err
	})
}
