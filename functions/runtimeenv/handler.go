// Package runtimeenv serves the runtime env routes: create, describe, modify
// and delete runtime envs.
package runtimeenv

import (
	"context"
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/store"
)

// Store is what the handlers need from the store.
type Store interface {
	CreateRuntimeEnv(ctx context.Context, e *model.RuntimeEnv) error
	UpdateRuntimeEnv(ctx context.Context, id string, fn func(*model.RuntimeEnv) error) (*model.RuntimeEnv, error)
	DeleteRuntimeEnv(ctx context.Context, id string, check func(*model.RuntimeEnv) error) error
	ListRuntimeEnvs(ctx context.Context, l store.List) ([]model.RuntimeEnv, *store.Result, error)
	LabelRuntimeEnvs(ctx context.Context, labelIDs []string) ([]string, error)
}

// Prober validates an endpoint live.
type Prober interface {
	Endpoint(ctx context.Context, env *model.RuntimeEnv) error
}

var _ Store = (*store.Store)(nil)

// Handler serves the area's routes.
type Handler struct {
	Store  Store
	Probe  Prober
	Policy netguard.Policy
}

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	return map[string]api.HandlerFunc{
		"CreateRuntimeEnv":    h.create,
		"DescribeRuntimeEnvs": h.describe,
		"ModifyRuntimeEnv":    h.modify,
		"DeleteRuntimeEnv":    h.delete,
	}
}

// CreateRequest is CreateRuntimeEnv's body.
type CreateRequest struct {
	Runtime     string `json:"runtime"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Endpoint    string `json:"endpoint"`
	Zone        string `json:"zone"`
	Visibility  string `json:"visibility"`
	Owner       string `json:"owner"`
	PodSecurity string `json:"pod_security"` // kubernetes: baseline (default), restricted, or privileged (admins)
}

type idResponse struct {
	api.Meta
	ID string `json:"runtime_env_id"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	var req CreateRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	env, err := h.newRuntimeEnv(caller, &req)
	if err != nil {
		return err
	}
	if err := h.Probe.Endpoint(r.Context(), env); err != nil {
		return err
	}
	if err := h.Store.CreateRuntimeEnv(r.Context(), env); err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: env.ID})
	return nil
}

// newRuntimeEnv validates a create request into a new env record.
func (h *Handler) newRuntimeEnv(caller auth.Identity, req *CreateRequest) (*model.RuntimeEnv, error) {
	if err := model.CheckRuntime(req.Runtime); err != nil {
		return nil, err
	}
	if err := model.CheckName("name", req.Name, true); err != nil {
		return nil, err
	}
	if err := model.CheckDescription(req.Description); err != nil {
		return nil, err
	}
	if req.Endpoint == "" {
		return nil, errs.Invalid("endpoint", "is required")
	}
	if _, err := h.Policy.CheckURL(req.Endpoint); err != nil {
		return nil, errs.Invalid("endpoint", "%v", err)
	}
	if err := model.CheckZone(req.Zone); err != nil {
		return nil, err
	}
	if req.Visibility == "" {
		req.Visibility = model.Private
	}
	if err := model.CheckVisibility(req.Visibility); err != nil {
		return nil, err
	}
	if err := checkPodSecurity(caller, req.Runtime, req.PodSecurity); err != nil {
		return nil, err
	}
	owner, err := ownerFor(caller, req.Owner)
	if err != nil {
		return nil, err
	}
	return &model.RuntimeEnv{
		Record:  model.Record{ID: model.NewID(model.KindRuntimeEnv), Owner: owner, Visibility: req.Visibility},
		Runtime: req.Runtime, Name: req.Name, Description: req.Description, Endpoint: req.Endpoint, Zone: req.Zone,
		PodSecurity: req.PodSecurity,
	}, nil
}

// checkPodSecurity: a Pod Security Admission level, for kubernetes only;
// privileged (pods may take their node) only by an admin.
func checkPodSecurity(caller auth.Identity, runtime, level string) error {
	if level == "" {
		return nil
	}
	if runtime != model.Kubernetes {
		return errs.Invalid("pod_security", "is only for kubernetes runtime envs")
	}
	if err := model.CheckPodSecurity(level); err != nil {
		return err
	}
	if level == model.PodSecurityPrivileged && !caller.Admin {
		return errs.Forbidden("pod_security: only an admin may allow privileged pods")
	}
	return nil
}

func ownerFor(caller auth.Identity, requested string) (string, error) {
	if requested != "" {
		if err := model.CheckOwner("owner", requested); err != nil {
			return "", err
		}
	}
	return caller.Owner(requested)
}

// ModifyRequest is ModifyRuntimeEnv's body; absent fields stay as they are.
type ModifyRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Visibility  *string `json:"visibility"`
	Owner       *string `json:"owner"`
	PodSecurity *string `json:"pod_security"`
	Version     *int64  `json:"version"` // optional: fail with 409 unless the env is still at this version
}

func (h *Handler) modify(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	id, err := api.PathID(r, "runtime_env_id", model.IDPrefix(model.KindRuntimeEnv))
	if err != nil {
		return err
	}
	var req ModifyRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	if err := checkModify(caller, &req); err != nil {
		return err
	}
	_, err = h.Store.UpdateRuntimeEnv(r.Context(), id, func(e *model.RuntimeEnv) error {
		if err := caller.Writable("runtime_env", &e.Record); err != nil {
			return err
		}
		before := *e
		if err := errs.Version("runtime env", id, e.Version, req.Version); err != nil {
			return err
		}
		if req.Name != nil {
			e.Name = *req.Name
		}
		if req.Description != nil {
			e.Description = *req.Description
		}
		if req.Visibility != nil {
			e.Visibility = *req.Visibility
		}
		if req.Owner != nil {
			e.Owner = *req.Owner
		}
		if e.PodSecurity == model.PodSecurityPrivileged && !caller.Admin && (e.Visibility != before.Visibility) {
			// Who may use a privileged env is an admin's choice too.
			return errs.Forbidden("visibility: only an admin may share a runtime env that allows privileged pods")
		}
		if req.PodSecurity != nil && *req.PodSecurity != e.PodSecurity { // resending the level it has changes nothing
			if err := checkPodSecurity(caller, e.Runtime, *req.PodSecurity); err != nil {
				return err
			}
			e.PodSecurity = *req.PodSecurity
		}
		return nil
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: id})
	return nil
}

func checkModify(caller auth.Identity, req *ModifyRequest) error {
	if req.Name != nil {
		if err := model.CheckName("name", *req.Name, true); err != nil {
			return err
		}
	}
	if req.Description != nil {
		if err := model.CheckDescription(*req.Description); err != nil {
			return err
		}
	}
	if req.Visibility != nil {
		if err := model.CheckVisibility(*req.Visibility); err != nil {
			return err
		}
	}
	if req.Owner != nil {
		owner, err := ownerFor(caller, *req.Owner)
		if err != nil {
			return err
		}
		req.Owner = &owner
	}
	return nil
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	id, err := api.PathID(r, "runtime_env_id", model.IDPrefix(model.KindRuntimeEnv))
	if err != nil {
		return err
	}
	if _, err := api.ParseQuery(r); err != nil {
		return err
	}
	err = h.Store.DeleteRuntimeEnv(r.Context(), id, func(e *model.RuntimeEnv) error {
		return caller.Writable("runtime_env", &e.Record)
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: id})
	return nil
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return (&Handler{Store: d.Store, Probe: d.Probe, Policy: d.Policy}).Actions()
}
