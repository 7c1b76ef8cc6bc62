package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envhub/envhub/shared/errs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
)

// EnsureNamespace creates the namespace or brings its labels in line (server-side apply).
func (c *Cluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := applycorev1.Namespace(name).WithLabels(labels)
	_, err := c.Typed.CoreV1().Namespaces().Apply(ctx, ns, metav1.ApplyOptions{FieldManager: FieldManager})
	return Err(err)
}

// RemoveNamespaceLabels drops labels from a namespace that envhub set.
func (c *Cluster) RemoveNamespaceLabels(ctx context.Context, name string) error {
	// Applying the namespace with no labels releases the ones envhub owned.
	_, err := c.Typed.CoreV1().Namespaces().Apply(ctx, applycorev1.Namespace(name), metav1.ApplyOptions{FieldManager: FieldManager})
	return Err(err)
}

// DeleteNamespace deletes a namespace; with wait it returns once the
// namespace is gone (finalizers done), or when ctx ends.
func (c *Cluster) DeleteNamespace(ctx context.Context, name string, waitGone bool) error {
	err := c.Typed.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !errors.Is(Err(err), errs.ErrNotFound) {
		return Err(err)
	}
	if !waitGone {
		return nil
	}
	err = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return false, nil
		}
		if errors.Is(Err(err), errs.ErrNotFound) {
			return true, nil
		}
		return false, Err(err)
	})
	if err != nil {
		return fmt.Errorf("namespace %s still terminating: %w", name, err)
	}
	return nil
}

// Namespace reads a namespace.
func (c *Cluster) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	return ns, Err(err)
}
