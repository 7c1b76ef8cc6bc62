package cluster

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

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
