package environment

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/store"
)

// UpdateRequest is the edit body.
type UpdateRequest struct {
	RegistryID *string `json:"registry_id"`
	Name       *string `json:"env_name"` // production only
}

func (h *Handler) update(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req UpdateRequest
		caller, q, idem, answered, err := h.Accept(w, r, &req)
		if err != nil || answered {
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
		e, err := h.changeable(r, k, caller, q)
		if err != nil {
			return err
		}
		set := func(e *model.Environment) {
			if req.RegistryID != nil {
				e.RegistryID = *req.RegistryID
			}
			if req.Name != nil {
				e.Name = *req.Name
			}
		}
		if req.RegistryID == nil || *req.RegistryID == e.RegistryID {
			// Nothing the cluster sees changes.
			_, err = h.Store.UpdateEnvironment(r.Context(), e.ID, func(e *model.Environment) error {
				set(e)
				e.UpdateBy = caller.Subject
				return nil
			})
			if err != nil {
				return err
			}
			api.WriteSuccess(w)
			return nil
		}
		// The registry secret and every service's imagePullSecrets follow.
		opID, err := h.Start(r, operation.Update{Caller: caller, Env: e, Idem: idem, Input: "registry_id=" + *req.RegistryID, Set: set,
			Touched: func(part string) bool {
				return part == model.PartRegistry || strings.HasPrefix(part, model.ServicePart(""))
			}})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}

func (h *Handler) delete(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var extra []string
		if k.envType == model.EnvTest {
			extra = append(extra, "isDelete")
		}
		caller, q, err := operation.Request(r, nil, extra...)
		if err != nil {
			return err
		}
		// isDelete decides whether the namespace and the services go too;
		// production environments are always kept (the spec has no isDelete).
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
		idem, answered, err := h.Replay(w, r, caller, isDelete)
		if err != nil || answered {
			return err
		}
		e, err := h.changeable(r, k, caller, q)
		if err != nil {
			return err
		}
		opID, err := h.Begin(r, operation.Change{Kind: model.OpDelete, Machine: DeleteMachine, IsDelete: isDelete,
			Input: "isDelete=" + strconv.FormatBool(isDelete), Idem: idem}, func(st store.Start) error {
			return h.Store.StartOperation(r.Context(), e.ID, st, func(e *model.Environment) error {
				e.State, e.UpdateBy = model.EnvDeleting, caller.Subject
				return nil
			})
		})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}
