package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/envhub/envhub/shared/errs"
)

// The marks envhub keeps on the namespaces of its environments.
const (
	// MarkEnvironment names the environment a namespace belongs to.
	MarkEnvironment = "envhub.io/environment"
	// MarkRetained: the environment was deleted keeping its namespace.
	MarkRetained = "envhub.io/retained"
	// MarkCreatedBy (annotation) names the environment envhub created the
	// namespace for: deleting that one may delete it; any other, adopting
	// it, only unmarks it.
	MarkCreatedBy = "envhub.io/created-by"
)

// PodSecurityLabels make the apiserver enforce (and warn and audit) a Pod
// Security Admission level on a namespace.
func PodSecurityLabels(level string) map[string]string {
	out := map[string]string{}
	for _, mode := range []string{"enforce", "warn", "audit"} {
		out["pod-security.kubernetes.io/"+mode] = level
		out["pod-security.kubernetes.io/"+mode+"-version"] = "latest"
	}
	return out
}

// Claim is an environment taking its namespace.
type Claim struct {
	Environment string            // the environment's id
	Labels      map[string]string // its labels and the Pod Security ones
	Adopt       bool              // an admin asked to take over a namespace envhub did not make for it
}

// NamespaceOwner tells who a namespace belongs to: exists is false when
// there is none; env is the environment marked on it ("" when unmarked).
func (c *Cluster) NamespaceOwner(ctx context.Context, name string) (env string, retained, exists bool, err error) {
	ns, err := c.Namespace(ctx, name)
	if errors.Is(err, errs.ErrNotFound) {
		return "", false, false, nil
	}
	if err != nil {
		return "", false, false, err
	}
	return ns.Labels[MarkEnvironment], ns.Labels[MarkRetained] == "true", true, nil
}

// ClaimNamespace creates the namespace marked for the environment, or
// takes the one already marked for it (a retried task), or, adopting, an
// existing one; any other existing namespace is a 409. It reports whether
// envhub created the namespace.
func (c *Cluster) ClaimNamespace(ctx context.Context, name string, claim Claim) (created bool, err error) {
	labels := merged(claim.Labels, map[string]string{MarkEnvironment: claim.Environment})
	have, err := c.Namespace(ctx, name)
	if errors.Is(err, errs.ErrNotFound) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{MarkCreatedBy: claim.Environment}}}
		_, err = c.Typed.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager})
		if err == nil {
			return true, nil
		}
		if err = Err(err); !errors.Is(err, errs.ErrConflict) {
			return false, err
		}
		have, err = c.Namespace(ctx, name) // someone made it meanwhile: judge it as any existing one
	}
	if err != nil {
		return false, err
	}
	switch mark := have.Labels[MarkEnvironment]; {
	case have.DeletionTimestamp != nil:
		return false, errs.Conflict("namespace %s is being deleted: retry once it is gone", name)
	case mark != claim.Environment && !claim.Adopt && mark != "":
		return false, errs.Conflict("namespace %s belongs to another environment: an admin may adopt it", name)
	case mark != claim.Environment && !claim.Adopt:
		return false, errs.Conflict("namespace %s already exists and envhub did not create it: an admin may adopt it", name)
	}
	created = have.Annotations[MarkCreatedBy] == claim.Environment
	if have.Labels[MarkRetained] == "" && hasLabels(have.Labels, labels) {
		return created, nil // as it should be already: the usual case of a change
	}
	labels[MarkRetained] = "" // null: adopting ends a retention
	return created, c.patchLabels(ctx, name, labels)
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// ReleaseNamespace removes envhub's marks and the environment's labels from
// a namespace it keeps (adopted, or retained by isDelete=false callers that
// then Retain it); the Pod Security labels stay, erring on the safe side.
func (c *Cluster) ReleaseNamespace(ctx context.Context, name string, envLabels map[string]string) error {
	drop := map[string]string{MarkEnvironment: "", MarkRetained: ""}
	for k := range envLabels {
		drop[k] = ""
	}
	return c.patchLabels(ctx, name, drop)
}

// RetainNamespace marks a namespace whose environment was deleted keeping it.
func (c *Cluster) RetainNamespace(ctx context.Context, name string) error {
	return c.patchLabels(ctx, name, map[string]string{MarkRetained: "true"})
}

// patchLabels merge-patches namespace labels; an empty value removes one.
func (c *Cluster) patchLabels(ctx context.Context, name string, labels map[string]string) error {
	set := map[string]any{}
	for k, v := range labels {
		if v == "" {
			set[k] = nil
		} else {
			set[k] = v
		}
	}
	data, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": set}})
	_, err := c.Typed.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{FieldManager: FieldManager})
	return Err(err)
}

// EnsureNamespace creates the namespace or brings its labels in line
// (server-side apply): for operators' tools and benchmarks, not environments.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := applycorev1.Namespace(name).WithLabels(labels)
	_, err := c.Typed.CoreV1().Namespaces().Apply(ctx, ns, metav1.ApplyOptions{FieldManager: FieldManager})
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
