package operation

import (
	"context"
	"errors"
	"slices"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
)

// hostsFree refuses (409) a plan whose Ingresses would route a host that a
// live Ingress of another namespace of the cluster routes: one envhub does
// not know of (made outside it, or by an environment from before hosts were
// claimed). Claims between environments are the store's, in the
// transaction. A credential that may not list Ingresses cluster-wide skips
// this check.
func hostsFree(ctx context.Context, c *cluster.Cluster, e *model.Environment, p *plan.Plan) error {
	var fresh []string
	for _, h := range plan.Hosts(p.All) {
		if !slices.Contains(e.Hosts, h) {
			fresh = append(fresh, h)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	routed, err := c.IngressHosts(ctx, e.Namespace)
	if errors.Is(err, errs.ErrForbidden) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, rh := range routed {
		if slices.Contains(fresh, rh.Host) {
			// Not naming the Ingress: its namespace may be another tenant's.
			return errs.Conflict("ingress host %s is already routed on this cluster", rh.Host)
		}
	}
	return nil
}
