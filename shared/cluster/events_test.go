package cluster_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/shared/cluster"
)

// Events written through events.k8s.io/v1 (event time, series) and through
// core/v1 (timestamps, count) are each listed once, read by their own
// fields, newest first, and filtered by their object's kind and name.
func TestEventsBothAPIs(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	now := time.Now().Truncate(time.Second)
	web := corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: ns}
	newer := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.new", Namespace: ns}, EventTime: metav1.NewMicroTime(now.Add(-time.Minute)),
		Series:              &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now)},
		ReportingController: "envhub.test/ctl", ReportingInstance: "ctl-1", Action: "Pull", Reason: "BackOff", Note: "Back-off pulling image",
		Type: corev1.EventTypeWarning, Regarding: web}
	if _, err := c.Typed.EventsV1().Events(ns).Create(ctx(t), newer, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	older := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.old", Namespace: ns}, InvolvedObject: web, Reason: "ScalingReplicaSet",
		Message: "Scaled up replica set web-1 to 1", Type: corev1.EventTypeNormal, Count: 3,
		FirstTimestamp: metav1.NewTime(now.Add(-time.Hour)), LastTimestamp: metav1.NewTime(now.Add(-10 * time.Minute))}
	other := older.DeepCopy()
	other.Name, other.InvolvedObject.Kind = "web-pod.x", "Pod"
	for _, e := range []*corev1.Event{older, other} {
		if _, err := c.Typed.CoreV1().Events(ns).Create(ctx(t), e, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	got, err := c.Events(ctx(t), ns, cluster.EventFilter{Kind: "Deployment", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.Event{
		{Reason: "BackOff", Message: "Back-off pulling image", Type: "Warning", Count: 4, FirstSeen: now.Add(-time.Minute), LastSeen: now},
		{Reason: "ScalingReplicaSet", Message: "Scaled up replica set web-1 to 1", Type: "Normal", Count: 3, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-10 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Reason != w.Reason || g.Message != w.Message || g.Type != w.Type || g.Count != w.Count || !g.FirstSeen.Equal(w.FirstSeen) || !g.LastSeen.Equal(w.LastSeen) {
			t.Errorf("event %d: %+v, want %+v", i, g, w)
		}
	}
	all, err := c.Events(ctx(t), ns, cluster.EventFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("unfiltered: %d %v", len(all), err)
	}
	pods, err := c.Events(ctx(t), ns, cluster.EventFilter{Kind: "Pod"})
	if err != nil || len(pods) != 1 || pods[0].Count != 3 {
		t.Fatalf("pods: %+v %v", pods, err)
	}
}
