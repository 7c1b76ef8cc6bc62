package environment

import (
	"errors"
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

func (h *Handler) getOperation(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	if _, err := api.ParseQuery(r); err != nil {
		return err
	}
	id := r.PathValue("operation_id")
	if err := api.CheckID("operation_id", id, model.IDPrefix(model.KindOperation)); err != nil {
		return err
	}
	op, err := h.Store.GetOperation(r.Context(), id)
	if err != nil {
		return err
	}
	// Readable as its environment is: through the project as it is now.
	e, err := h.Store.GetEnvironment(r.Context(), op.EnvironmentID)
	if err != nil {
		return notFoundAs(err, id)
	}
	p, err := h.Store.GetProject(r.Context(), e.ProjectID)
	if err != nil {
		return notFoundAs(err, id)
	}
	if !caller.CanRead(p.Owner, p.Visibility) {
		return errs.NotFound("operation", id)
	}
	out := map[string]any{"operation_id": op.ID, "kind": op.Kind, "status": op.State, "steps": nonNil(op.Steps),
		"error": op.Error, "start_time": op.CreateTime.Unix(), "end_time": nil, "deadline": op.Deadline.Unix(), "plan": op.Plan}
	if !op.Ended.IsZero() {
		out["end_time"] = op.Ended.Unix()
	}
	api.WriteJSON(w, out)
	return nil
}

// notFoundAs reports a missing environment or project as the operation missing.
func notFoundAs(err error, opID string) error {
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFound("operation", opID)
	}
	return err
}
