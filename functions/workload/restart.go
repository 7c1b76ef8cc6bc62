package workload

import (
	"net/http"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// restart rolls every Deployment, StatefulSet and DaemonSet of a service,
// as kubectl rollout restart does: their pod templates are stamped with the
// time. The stamp is the service's desired state, so later changes keep it
// rather than roll the pods once more.
func (h *Handler) restart(envType string) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, idem, answered, err := h.Accept(w, r, nil)
		if err != nil || answered {
			return err
		}
		name := r.PathValue("serviceName")
		if err := model.CheckKey("serviceName", name, 63); err != nil {
			return err
		}
		e, err := h.Changeable(r, envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		if _, err := service(e, name); err != nil {
			return err
		}
		out, err := h.Renderer.Render(r.Context(), e)
		if err != nil {
			return err
		}
		rolls := 0
		for _, o := range out.Services[serviceIndex(e, name)] {
			if k := o.GetKind(); k == cluster.Deployment || k == cluster.StatefulSet || k == cluster.DaemonSet {
				rolls++
			}
		}
		if rolls == 0 {
			return errs.Invalid("serviceName", "service %s has no Deployment, StatefulSet or DaemonSet to restart", name)
		}
		at := time.Now().UTC().Format(time.RFC3339Nano)
		return h.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: isService(name),
			Input: "restart service " + name,
			Set: func(e *model.Environment) {
				e.Services[serviceIndex(e, name)].RestartedAt = at
			}})
	}
}
