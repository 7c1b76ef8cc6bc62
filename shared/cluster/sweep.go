package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/envhub/envhub/shared/errs"
)

// sweepSkipped are kinds a sweep leaves alone: records of what happened,
// and objects their owners delete.
var sweepSkipped = map[string]bool{"events": true, "pods": true, "replicasets": true, "controllerrevisions": true, "endpoints": true, "endpointslices": true}

// Sweep deletes every object in namespace matching selector, of every
// namespaced kind the cluster serves that can be listed and deleted: the
// backstop that finds an environment's objects by their labels when its
// applied set is incomplete. It returns how many it deleted.
func (c *Cluster) Sweep(ctx context.Context, namespace, selector string) (int, error) {
	if selector == "" {
		return 0, errs.Invalid("selector", "a sweep needs a label selector")
	}
	lists, err := c.Typed.Discovery().ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return 0, Err(err)
	}
	policy := metav1.DeletePropagationBackground
	n := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if sweepSkipped[r.Name] || !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			ri := c.Dynamic.Resource(gv.WithResource(r.Name)).Namespace(namespace)
			objs, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				if errors.Is(Err(err), errs.ErrNotFound) || errors.Is(Err(err), errs.ErrForbidden) {
					continue // not served after all, or not ours to see
				}
				return n, fmt.Errorf("sweep %s: %w", r.Name, Err(err))
			}
			for _, o := range objs.Items {
				err := ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
				if err != nil && !errors.Is(Err(err), errs.ErrNotFound) {
					return n, fmt.Errorf("sweep %s %s: %w", r.Kind, o.GetName(), Err(err))
				}
				n++
			}
		}
	}
	return n, nil
}
