package envcfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// Deleted is the delete's answer, as the spec shows it.
type Deleted struct {
	Message     int    `json:"message"`
	OperationID string `json:"operation_id"`
}

// delete removes a config: the environment's goes from its desired state
// and the plan prunes it; a live object envhub did not apply, named
// explicitly, is deleted too. An object a service of the environment
// applied is that service's (409); nothing of that name is a 404.
func (h *Handler) delete(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, "type")
		if err != nil {
			return err
		}
		var replayed captured
		idem, answered, err := h.Replay(&replayed, r, caller, nil)
		if err != nil {
			return err
		}
		if answered {
			var s operation.Started
			if err := json.Unmarshal(replayed.body.Bytes(), &s); err != nil {
				return err
			}
			api.WriteJSON(w, Deleted{http.StatusOK, s.OperationID})
			return nil
		}
		t, name, err := target(r, q)
		if err != nil {
			return err
		}
		e, err := h.Changeable(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		list, err := h.configs(r.Context(), e)
		if err != nil {
			return err
		}
		ch := change{Update: operation.Update{Caller: caller, Env: e, Idem: idem, Input: "envcfg delete " + t.Name + "/" + name,
			Set: func(*model.Environment) {}, Touched: isConfig}}
		if cur := find(list, t, name); cur != nil {
			ch.Set = func(e *model.Environment) { e.Configs = slices.Delete(e.Configs, cur.Index, cur.Index+1) }
		} else if ch.Prune, err = h.foreign(r, e, t, name); err != nil {
			return err
		}
		opID, err := h.start(r, ch)
		if err != nil {
			return err
		}
		api.WriteJSON(w, Deleted{http.StatusOK, opID})
		return nil
	}
}

// foreign decides about an object the environment has no config for: one
// of its services (or its registry) applied is theirs (409); one a config
// applied before is pruned by the plan anyway (nil); a live one envhub did
// not apply is deleted, named explicitly; none is a 404.
func (h *Handler) foreign(r *http.Request, e *model.Environment, t cfgType, name string) (*model.Applied, error) {
	applied, err := h.Store.AllApplied(r.Context(), e.ID)
	if err != nil {
		return nil, err
	}
	ref := t.ref(name)
	for _, a := range applied {
		if a.Key() != ref.Key() {
			continue
		}
		if svc, ok := model.PartService(a.Part); ok {
			return nil, errs.Conflict("%s %q belongs to service %s of environment %s: change or remove the service instead", t.Kind, name, svc, e.Key)
		}
		if a.Part == model.PartRegistry {
			return nil, errs.Conflict("%s %q is environment %s's registry secret: it follows the environment's registry_id", t.Kind, name, e.Key)
		}
		return nil, nil // a config's, pruned by the plan
	}
	live, err := h.live(r.Context(), e, t, name)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.NotFound("env config "+t.Name, name)
	}
	if err != nil {
		return nil, err
	}
	ref.APIVersion = live.GetAPIVersion()
	return &ref, nil
}

// captured holds what Replay answers, so the delete can answer its own way.
type captured struct {
	header http.Header
	body   bytes.Buffer
}

func (c *captured) Header() http.Header {
	if c.header == nil {
		c.header = http.Header{}
	}
	return c.header
}

func (c *captured) Write(b []byte) (int, error) { return c.body.Write(b) }
func (c *captured) WriteHeader(int)             {}
