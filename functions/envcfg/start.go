package envcfg

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/plan"
)

// change is one change of an environment's configs: operation.Run's shape,
// plus what only env configs need.
type change struct {
	operation.Update
	// Object is the config the change applies, named explicitly by the
	// request (nil for a delete): as the plan renders it, it is dry-run on
	// the cluster and its Ingress hosts checked before anything is
	// recorded, and its apply is an adoption (plan.Item.Adopt): it takes
	// over the fields other managers own.
	Object *unstructured.Unstructured
	// Prune is a live object envhub did not apply that the request names
	// explicitly to delete.
	Prune *model.Applied
}

// isConfig selects the env config part: only configs re-render.
func isConfig(part string) bool { return part == model.PartConfig }

// start starts the change: operation.Start, with the named config checked
// on the cluster and adopted, and the named foreign object pruned.
func (h *Handler) start(r *http.Request, ch change) (string, error) {
	u := ch.Update
	u.Prepare = func(ctx context.Context, p *plan.Plan) error {
		if ch.Object != nil {
			key := model.Applied{APIVersion: ch.Object.GetAPIVersion(), Kind: ch.Object.GetKind(), Name: ch.Object.GetName()}.Key()
			named := func(a model.Applied) bool { return a.Part == model.PartConfig && a.Key() == key }
			i := slices.IndexFunc(p.All, func(it plan.Item) bool { return named(it.Ref()) })
			if i < 0 {
				return errs.Invalid("yaml_data", "%s %q is not rendered", ch.Object.GetKind(), ch.Object.GetName())
			}
			if err := h.check(ctx, u.Env, p.All[i]); err != nil {
				return err
			}
			for j, it := range p.Items {
				p.Items[j].Adopt = it.Object != nil && named(it.Ref()) // named explicitly: its apply takes over what others own
			}
		}
		if a := ch.Prune; a != nil && !slices.ContainsFunc(p.Items, func(it plan.Item) bool { return it.Prune != nil && it.Prune.Key() == a.Key() }) {
			p.Items = append(p.Items, plan.Item{Part: model.PartConfig, Prune: a})
		}
		return nil
	}
	return h.Start(r, u)
}

// check asks the cluster about a config before it is recorded: a
// server-side dry-run apply of it as the operation will apply it (what the
// apiserver refuses is a 400 in its words). Ingress hosts routed elsewhere
// were refused by Replan (operation.CheckObjects).
func (h *Handler) check(ctx context.Context, e *model.Environment, it plan.Item) error {
	ctx, cancel := context.WithTimeout(ctx, operation.RequestTimeout)
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{Object: it.Object}
	switch err := c.DryRun(ctx, e.Namespace, obj); {
	case errors.Is(err, cluster.ErrNoNamespace):
		// The environment's namespace is not there (yet): nothing to check against.
	case errors.Is(err, errs.ErrInvalid) && strings.Contains(err.Error(), "admission webhook"):
		// A webhook's words may name other tenants' objects (ingress-nginx
		// names the Ingress already routing a host): logged, not echoed.
		slog.WarnContext(ctx, "an admission webhook refused an env config", "environment", e.ID, "err", err)
		return errs.Invalid("yaml_data", "an admission webhook of the cluster refuses it (its operator's logs say why)")
	case errors.Is(err, errs.ErrInvalid):
		return errs.Invalid("yaml_data", "the cluster refuses it: %s", strings.TrimPrefix(err.Error(), errs.ErrInvalid.Error()+": "))
	case err != nil:
		return err
	}
	return nil
}
