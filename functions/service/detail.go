package service

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// getService shows a service of an environment from the live cluster: one
// list call per kind, selected by the service's labels. Where the
// environment was read before, the lists start beside the reads that
// authorize them (with the client last used for its cluster) and are
// answered only once those reads confirm the caller, the environment's
// place and the client: otherwise they run again.
func (h *Handler) getService(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, "workLoadtype")
		if err != nil {
			return err
		}
		wl := ""
		if q.Strings("workLoadtype") != nil {
			if wl, err = q.String("workLoadtype"); err != nil {
				return err
			}
			if err := checkWorkloadType(wl); err != nil {
				return err
			}
		}
		name := r.PathValue("serviceName")
		if err := model.CheckKey("serviceName", name, 63); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout) // all of it: the answer must beat API Gateway's 29 s
		defer cancel()
		envKey := r.PathValue("envKey")
		selector := render.Selector(envKey, name)
		e, objs, err := operation.Live(ctx, h.Ops, caller, r.URL.Query().Get("projectKey"), envKey, func(ctx context.Context) (*model.Environment, error) {
			_, e, err := h.Ops.Environment(r.WithContext(ctx), k.envType, envKey, caller, q)
			if err == nil && !slices.ContainsFunc(e.Services, func(s model.EnvService) bool { return s.Name == name }) {
				err = errs.NotFound("service", name)
			}
			return e, err
		}, func(ctx context.Context, c *cluster.Cluster, namespace string) (*cluster.ServiceObjects, error) {
			return c.ServiceObjects(ctx, namespace, selector)
		})
		if err != nil {
			return err
		}
		api.WriteJSON(w, withEnv(buildDetail(objs, wl, time.Now()), name, e.Namespace, e.Name, e.ProjectKey))
		return nil
	}
}
