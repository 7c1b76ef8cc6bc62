package cluster

import (
	"context"
	"io"

	"github.com/envhub/envhub/shared/errs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
)

// LogOptions select a log stream.
type LogOptions struct {
	Container    string
	Follow       bool
	TailLines    *int64
	SinceSeconds *int64
}

// Logs opens a container's log stream; the caller closes it. With Follow the
// stream stays open until ctx ends or the container stops.
func (c *Cluster) Logs(ctx context.Context, namespace, pod string, o LogOptions) (io.ReadCloser, error) {
	if o.TailLines != nil && *o.TailLines < 0 {
		return nil, errs.Invalid("tail_lines", "must not be negative")
	}
	if o.SinceSeconds != nil && *o.SinceSeconds <= 0 {
		return nil, errs.Invalid("since_seconds", "must be positive")
	}
	typed := c.Typed
	if o.Follow {
		// A followed stream outlives the per-request timeout: only ctx ends it.
		cfg := *c.Config
		cfg.Timeout = 0
		var err error
		if typed, err = kubernetes.NewForConfig(&cfg); err != nil {
			return nil, err
		}
	}
	rc, err := typed.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: o.Container, Follow: o.Follow, TailLines: o.TailLines, SinceSeconds: o.SinceSeconds,
	}).Stream(ctx)
	return rc, Err(err)
}

// Get reads an object of any kind, custom resources included (e.g. istio's
// VirtualService), through the dynamic client.
func (c *Cluster) Get(ctx context.Context, apiVersion, kind, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetName(name)
	ri, err := c.resource(u, namespace)
	if err != nil {
		return nil, err
	}
	got, err := ri.Get(ctx, name, metav1.GetOptions{})
	return got, Err(err)
}

// Create creates an object of any kind; an existing one is a conflict.
func (c *Cluster) Create(ctx context.Context, namespace string, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ri, err := c.resource(u, namespace)
	if err != nil {
		return nil, err
	}
	got, err := ri.Create(ctx, u, metav1.CreateOptions{FieldManager: FieldManager})
	return got, Err(err)
}

// DeleteObject deletes one object of any kind.
func (c *Cluster) DeleteObject(ctx context.Context, apiVersion, kind, namespace, name string) error {
	return c.Delete(ctx, []Ref{{apiVersion, kind, namespace, name}})
}
