package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/envhub/envhub/shared/errs"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// Ref names one applied object.
type Ref struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// Decode splits a multi-document YAML (or JSON) into objects; empty
// documents are skipped and every object must have apiVersion, kind and name.
func Decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, errs.Invalid("manifest", "document %d does not parse: %v", i, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, errs.Invalid("manifest", "document %d must have apiVersion, kind and metadata.name", i)
		}
		out = append(out, u)
	}
}

// podTemplatePaths are where workload kinds keep their pod template.
var podTemplatePaths = map[string][]string{
	"Deployment":  {"spec", "template"},
	"StatefulSet": {"spec", "template"},
	"DaemonSet":   {"spec", "template"},
	"ReplicaSet":  {"spec", "template"},
	"Job":         {"spec", "template"},
	"CronJob":     {"spec", "jobTemplate", "spec", "template"},
}

// PodTemplatePath returns where a workload kind keeps its pod template.
func PodTemplatePath(kind string) ([]string, bool) {
	p, ok := podTemplatePaths[kind]
	return append([]string{}, p...), ok
}

// MergeLabels adds labels to an object and to its pod template, if any.
func MergeLabels(u *unstructured.Unstructured, labels map[string]string) {
	if len(labels) == 0 {
		return
	}
	u.SetLabels(merged(u.GetLabels(), labels))
	if path, ok := podTemplatePaths[u.GetKind()]; ok {
		p := append(append([]string{}, path...), "metadata", "labels")
		old, _, _ := unstructured.NestedStringMap(u.Object, p...)
		_ = unstructured.SetNestedStringMap(u.Object, merged(old, labels), p...)
	}
}

func merged(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// resource finds the REST resource of an object and fills in the namespace
// for namespaced kinds (the given one wins over none).
func (c *Cluster) resource(u *unstructured.Unstructured, namespace string) (dynamic.ResourceInterface, error) {
	gvk := u.GroupVersionKind()
	m, err := c.mapping(gvk)
	if errors.Is(err, errNoKind) {
		return nil, errs.Invalid("manifest", "%s %q: the cluster has no kind %s", gvk.Kind, u.GetName(), gvk.String())
	} else if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		if namespace != "" {
			return nil, errs.Invalid("manifest", "%s %q is cluster-scoped: an environment holds only objects of its namespace %s", gvk.Kind, u.GetName(), namespace)
		}
		u.SetNamespace("")
		return c.Dynamic.Resource(m.Resource), nil
	}
	switch {
	case u.GetNamespace() == "":
		u.SetNamespace(namespace)
	case namespace != "" && u.GetNamespace() != namespace:
		return nil, errs.Invalid("manifest", "%s %q names namespace %s: an environment holds only objects of its namespace %s", gvk.Kind, u.GetName(), u.GetNamespace(), namespace)
	}
	if u.GetNamespace() == "" {
		return nil, errs.Invalid("manifest", "%s %q needs a namespace", gvk.Kind, u.GetName())
	}
	return c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), nil
}

// Apply server-side-applies a manifest (field manager "envhub") into
// namespace, with labels merged into every object and pod template. Kinds
// that others depend on (namespaces, CRDs, config, accounts) go first; the
// rest in parallel. A field owned by another manager is a conflict (409).
func (c *Cluster) Apply(ctx context.Context, namespace string, manifest []byte, labels map[string]string) ([]Ref, error) {
	objs, err := Decode(manifest)
	if err != nil {
		return nil, err
	}
	return c.ApplyObjects(ctx, namespace, objs, labels)
}

// ApplyObjects is Apply for decoded objects. Given a namespace, every
// object must live in it: cluster-scoped kinds and other namespaces are
// refused (400) before anything is applied, so a tenant's template cannot
// reach past its environment. Without one (operators' use) any object goes.
func (c *Cluster) ApplyObjects(ctx context.Context, namespace string, objs []*unstructured.Unstructured, labels map[string]string) ([]Ref, error) {
	return c.applyObjects(ctx, namespace, objs, labels, false)
}

// Adopt is ApplyObjects taking over the fields other managers own: for
// objects a request names explicitly (kubectl's, say), never by default.
func (c *Cluster) Adopt(ctx context.Context, namespace string, objs []*unstructured.Unstructured, labels map[string]string) ([]Ref, error) {
	return c.applyObjects(ctx, namespace, objs, labels, true)
}

func (c *Cluster) applyObjects(ctx context.Context, namespace string, objs []*unstructured.Unstructured, labels map[string]string, force bool) ([]Ref, error) {
	if err := c.Check(namespace, objs); err != nil {
		return nil, err
	}
	var first, rest []*unstructured.Unstructured
	for _, u := range objs {
		MergeLabels(u, labels)
		switch u.GetKind() {
		case "Namespace", "CustomResourceDefinition", "ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Role", "ClusterRole":
			first = append(first, u)
		default:
			rest = append(rest, u)
		}
	}
	refs := make([]Ref, 0, len(objs))
	for _, batch := range [][]*unstructured.Unstructured{first, rest} {
		got, err := c.applyParallel(ctx, namespace, batch, force)
		refs = append(refs, got...)
		if err != nil {
			return refs, err
		}
	}
	return refs, nil
}

// Check refuses (400, naming each) objects that could not be applied into
// namespace: kinds the cluster does not serve, cluster-scoped kinds (which
// templates cannot be trusted to name all of), other namespaces.
func (c *Cluster) Check(namespace string, objs []*unstructured.Unstructured) error {
	var failures []error
	for _, u := range objs {
		if _, err := c.resource(u, namespace); err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				return err
			}
			failures = append(failures, err)
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w: %v", errs.ErrInvalid, errors.Join(failures...))
	}
	return nil
}

func (c *Cluster) applyParallel(ctx context.Context, namespace string, objs []*unstructured.Unstructured, force bool) ([]Ref, error) {
	refs := make([]Ref, len(objs))
	failures := make([]error, len(objs))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, u := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			refs[i], failures[i] = c.applyOne(ctx, namespace, u, force)
		}()
	}
	wg.Wait()
	var ok []Ref
	for i, err := range failures {
		if err != nil {
			return ok, err
		}
		ok = append(ok, refs[i])
	}
	return ok, nil
}

func (c *Cluster) applyOne(ctx context.Context, namespace string, u *unstructured.Unstructured, force bool) (Ref, error) {
	ri, err := c.resource(u, namespace)
	if err != nil {
		return Ref{}, err
	}
	ref := Ref{u.GetAPIVersion(), u.GetKind(), u.GetNamespace(), u.GetName()}
	data, err := u.MarshalJSON()
	if err != nil {
		return ref, errs.Invalid("manifest", "%s %q: %v", ref.Kind, ref.Name, err)
	}
	_, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(force)})
	if err != nil {
		return ref, fmt.Errorf("%s %s/%s: %w", ref.Kind, ref.Namespace, ref.Name, Err(err))
	}
	return ref, nil
}

// Delete removes applied objects (in reverse order, background propagation);
// ones already gone, or of kinds the cluster no longer serves, are fine.
func (c *Cluster) Delete(ctx context.Context, refs []Ref) error {
	policy := metav1.DeletePropagationBackground
	for i := len(refs) - 1; i >= 0; i-- {
		r := refs[i]
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(r.APIVersion)
		u.SetKind(r.Kind)
		u.SetName(r.Name)
		u.SetNamespace(r.Namespace)
		m, err := c.mapping(u.GroupVersionKind())
		if errors.Is(err, errNoKind) {
			// The version it was applied at may be gone (a cluster upgrade):
			// the object lives on at the kind's preferred version.
			if pm, perr := c.Mapper.RESTMapping(u.GroupVersionKind().GroupKind()); perr == nil {
				m, err = pm, nil
				u.SetAPIVersion(pm.GroupVersionKind.GroupVersion().String())
			}
		}
		if errors.Is(err, errNoKind) || err == nil && r.Namespace != "" && m.Scope.Name() != meta.RESTScopeNameNamespace {
			// Not served at all any more (a CRD was removed), or cluster-scoped,
			// so never applied into a namespace: nothing of ours to delete.
			continue
		}
		ri, err := c.resource(u, r.Namespace)
		if err != nil {
			return err
		}
		err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !errors.Is(Err(err), errs.ErrNotFound) {
			return fmt.Errorf("%s %s/%s: %w", r.Kind, r.Namespace, r.Name, Err(err))
		}
	}
	return nil
}

// GVR resolves a kind to its resource, e.g. for CRDs such as VirtualService.
func (c *Cluster) GVR(apiVersion, kind string) (schema.GroupVersionResource, bool, error) {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	m, err := c.mapping(u.GroupVersionKind())
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	return m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

var errNoKind = fmt.Errorf("%w: kind not served by the cluster", errs.ErrNotFound)

// mapping resolves a kind, refreshing discovery once: a CRD may have been
// installed since it was cached.
func (c *Cluster) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("%w: %s", errNoKind, gvk.String())
	}
	if err != nil {
		return nil, Err(err)
	}
	return m, nil
}
