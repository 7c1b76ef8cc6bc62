package envcfg

import (
	"errors"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// update replaces a config's YAML; the environment (test or production) is
// named in the body. A config the environment does not have but that lives
// in its namespace is adopted (the request names it explicitly); neither is
// a 404. A Secret key whose value is Mask keeps the value stored for it.
func (h *Handler) update(w http.ResponseWriter, r *http.Request) error {
	var req UpdateRequest
	caller, q, idem, answered, err := h.Accept(w, r, &req)
	if err != nil || answered {
		return err
	}
	t, obj, err := parse(req.AddRequest)
	if err != nil {
		return err
	}
	e, err := h.Changeable(r, "", req.EnvKey, caller, q)
	if err != nil {
		return err
	}
	if err := confined(e, obj); err != nil {
		return err
	}
	list, err := h.configs(r.Context(), e)
	if err != nil {
		return err
	}
	cur := find(list, t, req.Name)
	var old *unstructured.Unstructured
	if cur != nil {
		old = cur.Obj
	} else {
		live, err := h.live(r.Context(), e, t, req.Name)
		if errors.Is(err, errs.ErrNotFound) {
			return errs.NotFound("env config "+t.Name, req.Name)
		}
		if err != nil {
			return err
		}
		old = live
	}
	text := req.YAML
	if t.secret() && masked(obj) {
		if text, err = keep(obj, old); err != nil {
			return err
		}
	}
	cfg, err := h.config(r.Context(), e, t, text)
	if err != nil {
		return err
	}
	set := func(e *model.Environment) { e.Configs = append(e.Configs, cfg) } // adopted
	if cur != nil {
		// Desired applies set to the environment only at the version read,
		// so the index is the same there.
		set = func(e *model.Environment) { e.Configs[cur.Index] = cfg }
	}
	opID, err := h.start(r, change{Update: operation.Update{Caller: caller, Env: e, Idem: idem, Input: "envcfg update " + t.Name + "/" + req.Name,
		Set: set, Touched: isConfig}, Object: obj})
	if err != nil {
		return err
	}
	operation.WriteStarted(w, opID)
	return nil
}
