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

// placed remembers where each environment (by project and env key) this
// process has read lives: its cluster and namespace, which never change.
var placed sync.Map

type place struct{ cluster, namespace string }

type listed struct {
	c    *cluster.Cluster
	objs *cluster.ServiceObjects
	err  error
}

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
		where := r.URL.Query().Get("projectKey") + "/" + envKey
		var early, conn chan listed
		g, guessed := placed.Load(where)
		if guessed {
			at := g.(place)
			if c, ok := h.Ops.Connector.Last(at.cluster); ok {
				early = make(chan listed, 1)
				go func() {
					objs, err := c.ServiceObjects(ctx, at.namespace, selector)
					early <- listed{c, objs, err}
				}()
			}
			conn = make(chan listed, 1)
			go func() {
				c, err := h.Ops.Connector.Connect(ctx, at.cluster)
				conn <- listed{c: c, err: err}
			}()
		}
		_, e, err := h.Ops.Environment(r, k.envType, envKey, caller, q)
		if err != nil {
			return err
		}
		placed.Store(where, place{e.ClusterID, e.Namespace})
		if !slices.ContainsFunc(e.Services, func(s model.EnvService) bool { return s.Name == name }) {
			return errs.NotFound("service", name)
		}
		same := guessed && g.(place) == place{e.ClusterID, e.Namespace}
		var c listed
		if same {
			c = <-conn
		}
		if !same || c.err != nil {
			if c.c, c.err = h.Ops.Connector.Connect(ctx, e.ClusterID); c.err != nil {
				return c.err
			}
		}
		var got listed
		if same && early != nil {
			if got = <-early; got.c != c.c || got.err != nil {
				got.objs = nil
			}
		}
		if got.objs == nil {
			if got.objs, err = c.c.ServiceObjects(ctx, e.Namespace, selector); err != nil {
				return err
			}
		}
		api.WriteJSON(w, withEnv(buildDetail(got.objs, wl, time.Now()), name, e.Namespace, e.Name, e.ProjectKey))
		return nil
	}
}
