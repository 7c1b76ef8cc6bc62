package environment

import (
	"net/http"
	"strconv"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// UpdateRequest is the edit body.
type UpdateRequest struct {
	RegistryID *string `json:"registry_id"`
	Name       *string `json:"env_name"` // production only
}

func (h *Handler) update(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req UpdateRequest
		caller, q, err := request(r, &req)
		if err != nil {
			return err
		}
		if req.Name != nil {
			if k.envType != model.EnvProduction {
				return errs.Invalid("env_name", "is only for production environments")
			}
			if err := model.CheckName("env_name", *req.Name, true); err != nil {
				return err
			}
		}
		if req.RegistryID != nil && *req.RegistryID != "" {
			if err := h.checkRegistry(r, caller, *req.RegistryID); err != nil {
				return err
			}
		}
		p, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		if err := caller.Writable("project", &p.Record); err != nil {
			return err
		}
		set := func(e *model.Environment) {
			if req.RegistryID != nil {
				e.RegistryID = *req.RegistryID
			}
			if req.Name != nil {
				e.Name = *req.Name
			}
			e.UpdateBy = caller.Subject
		}
		if req.RegistryID != nil && *req.RegistryID != e.RegistryID {
			// The registry secret and every service's imagePullSecrets follow.
			next := *e
			set(&next)
			opID, err := h.reapply(r.Context(), caller, e, change{next: &next, services: func(int) bool { return true },
				registry: true, input: "registry_id=" + *req.RegistryID, commit: set})
			if err != nil {
				return err
			}
			api.WriteJSON(w, started{"success", opID})
			return nil
		}
		_, err = h.Store.UpdateEnvironment(r.Context(), e.ID, "", func(e *model.Environment, _ *model.Operation) error {
			if e.OperationID != "" {
				return errs.Conflict("environment %s is busy with operation %s", e.Key, e.OperationID)
			}
			set(e)
			return nil
		})
		if err != nil {
			return err
		}
		api.WriteSuccess(w)
		return nil
	}
}

func (h *Handler) delete(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var extra []string
		if k.envType == model.EnvTest {
			extra = append(extra, "isDelete")
		}
		caller, q, err := request(r, nil, extra...)
		if err != nil {
			return err
		}
		isDelete := false
		if k.envType == model.EnvTest {
			raw, err := q.String("isDelete")
			if err != nil {
				return err
			}
			if isDelete, err = strconv.ParseBool(raw); err != nil {
				return errs.Invalid("isDelete", "must be true or false")
			}
		}
		p, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		if err := caller.Writable("project", &p.Record); err != nil {
			return err
		}
		op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: "delete", EnvironmentID: e.ID,
			State: model.OpRunning, Input: strconv.FormatBool(isDelete)}
		if err := h.Store.StartOperation(r.Context(), e.ID, op, func(e *model.Environment) error {
			e.State, e.UpdateBy = model.EnvDeleting, caller.Subject
			return nil
		}); err != nil {
			return err
		}
		if err := h.start(r.Context(), DeleteMachine, e, op, isDelete); err != nil {
			return err
		}
		api.WriteJSON(w, started{"success", op.ID})
		return nil
	}
}
