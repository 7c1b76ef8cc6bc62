package service

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// clusterOf remembers the runtime env of each environment (by project and
// env key) this process has read.
var clusterOf sync.Map

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
		ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout) // all of it: the answer must beat API Gateway's 29 s
		defer cancel()
		// The cluster of an environment never changes: connecting to the one
		// it had last time runs beside reading it (and its caller's rights),
		// and is used only once the read confirms it.
		where := r.URL.Query().Get("projectKey") + "/" + r.PathValue("envKey")
		type conn struct {
			c   *cluster.Cluster
			err error
		}
		early := make(chan conn, 1)
		guess, guessed := clusterOf.Load(where)
		if guessed {
			go func() {
				c, err := h.Ops.Connector.Connect(ctx, guess.(string))
				early <- conn{c, err}
			}()
		}
		_, e, err := h.Ops.Environment(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		clusterOf.Store(where, e.ClusterID)
		if !slices.ContainsFunc(e.Services, func(s model.EnvService) bool { return s.Name == name }) {
			return errs.NotFound("service", name)
		}
		var got conn
		if guessed {
			got = <-early
		}
		if !guessed || guess.(string) != e.ClusterID || got.err != nil {
			got.c, got.err = h.Ops.Connector.Connect(ctx, e.ClusterID)
		}
		c, err := got.c, got.err
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
