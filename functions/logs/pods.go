package logs

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/render"
)

// pods starts a reader for each pod to follow that has none: the
// subscription's pod, or the service's pods as they come (a restart or a
// scale makes new ones), and ends those of pods gone. gone: no pod is
// there (for a pod subscription, the end once its reader ended).
func (w *worker) pods(ctx context.Context, first bool) (gone bool, err error) {
	var pods []corev1.Pod
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ns, core := w.src.env.Namespace, w.src.c.Typed.CoreV1()
	if w.sub.Pod != "" {
		p, err := core.Pods(ns).Get(lctx, w.sub.Pod, metav1.GetOptions{})
		if err != nil {
			if err = cluster.Err(err); !errors.Is(err, errs.ErrNotFound) {
				return false, err
			}
		} else {
			pods = []corev1.Pod{*p}
		}
	}
	if w.sub.Service != "" {
		l, err := core.Pods(ns).List(lctx, metav1.ListOptions{LabelSelector: render.Selector(w.src.env.Key, w.sub.Service)})
		if err != nil {
			return false, cluster.Err(err)
		}
		pods = l.Items
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dropGone(pods)
	for _, p := range pods {
		if w.readers[p.Name] != nil || len(w.readers) >= MaxPods || p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 {
			continue
		}
		container := w.sub.Container
		if container == "" && len(p.Spec.Containers) > 0 {
			container = p.Spec.Containers[0].Name
		}
		if !hasContainer(&p, container) {
			continue
		}
		var floor time.Time
		s := cluster.LogStream{Pod: p.Name, Container: container, Follow: true}
		cur, ok := w.cursors[p.Name]
		fromClient := ok && w.first
		if read, was := w.readTo[p.Name]; was && (!ok || after(read, cur)) {
			cur, ok, fromClient = read, true, false // a reader before this one read on: its lines are in the buffer
		}
		switch {
		case ok:
			if fromClient {
				s.Back = MaxTails // a client's since reads no more than a tail
			}
			s.From = cur
		case first && w.sub.Tails >= 0:
			s.Tail = int64(w.sub.Tails)
		default: // a pod new since the subscription (or a successor's): from its start
			from := w.sub.Since
			if born := p.CreationTimestamp.Time; born.After(from) {
				from = born
			}
			// Read from the second before (the apiserver's sinceTime is in
			// seconds; creation times too), and keep only lines from Since on.
			s.From = cluster.Cursor{Time: from.Add(-time.Second).Truncate(time.Second)}
			floor = w.sub.Since
		}
		rctx, cancel := context.WithCancel(ctx)
		w.readers[p.Name] = cancel
		w.wg.Add(1)
		go w.read(rctx, s, floor)
	}
	return len(pods) == 0, nil
}

// dropGone ends the readers of pods no longer listed twice in a row: a
// deleted pod's stream may never end (a node gone), so waiting for it
// would keep the subscription open on nothing. Callers hold w.mu.
func (w *worker) dropGone(listed []corev1.Pod) {
	here := map[string]bool{}
	for _, p := range listed {
		here[p.Name] = true
		delete(w.missing, p.Name)
	}
	for pod, cancel := range w.readers {
		if here[pod] {
			continue
		}
		if w.missing[pod]++; w.missing[pod] >= 2 {
			cancel()
			delete(w.missing, pod)
		}
	}
}

// idle tells that no pod is being read.
func (w *worker) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.readers) == 0
}

// read follows one pod's container into the buffer (lines before floor
// left out); when its log ends (the container stopped) it reads on from
// where it was while the pod lives.
func (w *worker) read(ctx context.Context, s cluster.LogStream, floor time.Time) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		w.readers[s.Pod]() // its context's resources
		delete(w.readers, s.Pod)
		if !s.From.IsZero() {
			w.readTo[s.Pod] = s.From
		}
		w.mu.Unlock()
	}()
	ns := w.src.env.Namespace
	for ctx.Err() == nil {
		start := time.Now()
		cur, err := w.src.c.ReadLogs(ctx, ns, s, func(l cluster.Line) bool {
			if !l.Time.Before(floor) {
				w.buf.add(s.Pod, l)
			}
			return true
		})
		if cur.IsZero() { // nothing read: on from when this read began, not the tail again
			cur = cluster.Cursor{Time: start.Add(-time.Second).Truncate(time.Second)}
		}
		s.From = cur
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errs.ErrNotFound) {
			return
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, gerr := w.src.c.Typed.CoreV1().Pods(ns).Get(gctx, s.Pod, metav1.GetOptions{})
		cancel()
		if errors.Is(cluster.Err(gerr), errs.ErrNotFound) {
			return
		}
	}
}
