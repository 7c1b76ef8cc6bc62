package service

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// getService shows a service of an environment from the live cluster: one
// list call per kind, selected by the service's labels.
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
		_, e, err := h.Ops.Environment(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(e.Services, func(s model.EnvService) bool { return s.Name == name }) {
			return errs.NotFound("service", name)
		}
		ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout) // all of it: the answer must beat API Gateway's 29 s
		defer cancel()
		c, err := h.Ops.Connector.Connect(ctx, e.ClusterID)
		if err != nil {
			return err
		}
		objs, err := c.ServiceObjects(ctx, e.Namespace, render.Selector(e.Key, name))
		if err != nil {
			return err
		}
		api.WriteJSON(w, withEnv(buildDetail(objs, wl, time.Now()), name, e.Namespace, e.Name, e.ProjectKey))
		return nil
	}
}
