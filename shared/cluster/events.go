package cluster

import (
	"cmp"
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// Event is one Kubernetes event, however it was written.
type Event struct {
	Reason    string
	Message   string
	Type      string // Normal or Warning
	Count     int32
	FirstSeen time.Time
	LastSeen  time.Time
}

// EventFilter selects events by their object's kind and name (empty: any).
type EventFilter struct{ Kind, Name string }

// Events answers at most MaxEvents, the newest, of at most maxRead read:
// events expire after an hour, but a crash-looping namespace can hold many.
const (
	MaxEvents = 1000
	maxRead   = 10000
)

// Events lists a namespace's events about the objects f selects, newest
// first. core/v1 and events.k8s.io/v1 are two views of the same objects
// (one storage), so one list through core/v1 holds both kinds exactly once:
// those written the old way (first/last timestamp, count) and those written
// through events.k8s.io (event time, series), each read by its own fields.
func (c *Cluster) Events(ctx context.Context, namespace string, f EventFilter) ([]Event, error) {
	sel := fields.Set{}
	if f.Name != "" {
		sel["involvedObject.name"] = f.Name
	}
	if f.Kind != "" {
		sel["involvedObject.kind"] = f.Kind
	}
	opts := metav1.ListOptions{FieldSelector: sel.AsSelector().String(), Limit: 500}
	var out []Event
	for {
		list, err := c.Typed.CoreV1().Events(namespace).List(ctx, opts)
		if err != nil {
			return nil, Err(err)
		}
		for i := range list.Items {
			out = append(out, event(&list.Items[i]))
		}
		if opts.Continue = list.Continue; opts.Continue == "" || len(out) >= maxRead {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Event) int { return cmp.Or(b.LastSeen.Compare(a.LastSeen), b.FirstSeen.Compare(a.FirstSeen)) })
	return out[:min(len(out), MaxEvents)], nil
}

// event reads an event written either way: events.k8s.io/v1 ones carry
// eventTime and a series (count and last time) instead of the timestamps.
func event(e *corev1.Event) Event {
	out := Event{Reason: e.Reason, Message: e.Message, Type: e.Type, Count: e.Count,
		FirstSeen: e.FirstTimestamp.Time, LastSeen: e.LastTimestamp.Time}
	if out.FirstSeen.IsZero() {
		out.FirstSeen = cmp.Or(e.EventTime.Time, e.CreationTimestamp.Time)
	}
	if e.Series != nil {
		out.Count = max(out.Count, e.Series.Count)
		if t := e.Series.LastObservedTime.Time; t.After(out.LastSeen) {
			out.LastSeen = t
		}
	}
	if out.LastSeen.IsZero() {
		out.LastSeen = out.FirstSeen
	}
	out.Count = max(out.Count, 1)
	return out
}
