package cluster

import (
	"context"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceObjects is what one service of an environment has in its
// namespace: the objects a service detail view is made from.
type ServiceObjects struct {
	Deployments  []appsv1.Deployment
	StatefulSets []appsv1.StatefulSet
	CronJobs     []batchv1.CronJob
	Pods         []corev1.Pod
	Services     []corev1.Service
	Ingresses    []networkingv1.Ingress
}

// ServiceObjects lists the objects matching selector in namespace: one List
// per kind, all at once, so the call costs about one round trip rather than
// six (and never one per pod).
func (c *Cluster) ServiceObjects(ctx context.Context, namespace, selector string) (*ServiceObjects, error) {
	opts := metav1.ListOptions{LabelSelector: selector}
	apps, core := c.Typed.AppsV1(), c.Typed.CoreV1()
	out := &ServiceObjects{}
	lists := []func(context.Context) error{
		func(ctx context.Context) error {
			l, err := apps.Deployments(namespace).List(ctx, opts)
			if err == nil {
				out.Deployments = l.Items
			}
			return err
		},
		func(ctx context.Context) error {
			l, err := apps.StatefulSets(namespace).List(ctx, opts)
			if err == nil {
				out.StatefulSets = l.Items
			}
			return err
		},
		func(ctx context.Context) error {
			l, err := c.Typed.BatchV1().CronJobs(namespace).List(ctx, opts)
			if err == nil {
				out.CronJobs = l.Items
			}
			return err
		},
		func(ctx context.Context) error {
			l, err := core.Pods(namespace).List(ctx, opts)
			if err == nil {
				out.Pods = l.Items
			}
			return err
		},
		func(ctx context.Context) error {
			l, err := core.Services(namespace).List(ctx, opts)
			if err == nil {
				out.Services = l.Items
			}
			return err
		},
		func(ctx context.Context) error {
			l, err := c.Typed.NetworkingV1().Ingresses(namespace).List(ctx, opts)
			if err == nil {
				out.Ingresses = l.Items
			}
			return err
		},
	}
	// All six run to the end even when one fails: they fail together (an
	// unreachable cluster, a refused credential), and cancelling the rest
	// makes client-go log "context canceled" for each.
	failed := make([]error, len(lists))
	var wg sync.WaitGroup
	for i, list := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failed[i] = list(ctx)
		}()
	}
	wg.Wait()
	for _, err := range failed {
		if err != nil {
			return nil, Err(err)
		}
	}
	return out, nil
}
