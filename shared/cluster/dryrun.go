package cluster

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/envhub/envhub/shared/errs"
)

// ErrNoNamespace is a dry run into a namespace that does not exist (yet):
// there is nothing in it to check the object against.
var ErrNoNamespace = fmt.Errorf("%w: namespace does not exist", errs.ErrNotFound)

// DryRun server-side-applies u into namespace exactly as an operation
// adopting it would (Adopt: field manager envhub, forced, the same resource
// mapping) without
// persisting anything, so what the apiserver would refuse (an immutable
// field changed, a PersistentVolumeClaim shrunk, a value out of range, an
// admission webhook's veto) is known before an operation is recorded: it
// comes back as errs.ErrInvalid carrying the apiserver's own words. A
// namespace that does not exist is ErrNoNamespace. u is not changed.
func (c *Cluster) DryRun(ctx context.Context, namespace string, u *unstructured.Unstructured) error {
	u = u.DeepCopy()
	ri, err := c.resource(u, namespace)
	if err != nil {
		return err
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return errs.Invalid("manifest", "%s %q: %v", u.GetKind(), u.GetName(), err)
	}
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager, Force: ptr.To(true)})
	if err == nil {
		return nil
	}
	if missingNamespace(err, u.GetNamespace()) {
		return fmt.Errorf("%w: %s", ErrNoNamespace, u.GetNamespace())
	}
	return Err(err)
}

// missingNamespace tells whether err is the apiserver saying the namespace
// itself is not found (not the object: an apply creates a missing object).
func missingNamespace(err error, namespace string) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces" && (d.Name == "" || d.Name == namespace)
}
