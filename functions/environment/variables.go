package environment

import (
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

func (h *Handler) getVariables(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil)
		if err != nil {
			return err
		}
		p, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		api.WriteJSON(w, globals(p, e))
		return nil
	}
}

// globals lists an environment's global variables with the services using
// them, typed by the project's definitions where the project defines them.
func globals(p *model.Project, e *model.Environment) []GlobalVar {
	out := []GlobalVar{}
	for _, g := range e.Globals {
		gv := GlobalVar{Key: g.Key, Value: g.Value, Type: "string", Options: []string{}, RelatedServices: related(e, g.Key)}
		for _, d := range p.GlobalVariables {
			if d.Key == g.Key {
				gv.Type, gv.Desc = d.Type, d.Desc
				if d.Options != nil {
					gv.Options = d.Options
				}
			}
		}
		out = append(out, gv)
	}
	return out
}

func related(e *model.Environment, key string) []string {
	out := []string{}
	for _, s := range e.Services {
		if slices.ContainsFunc(s.Variables, func(v model.Setting) bool { return v.Key == key && v.UseGlobal }) {
			out = append(out, s.Name)
		}
	}
	return out
}

// VariablesRequest is the update body.
type VariablesRequest struct {
	Globals []model.KV `json:"global_variables"`
}

// updateVariables sets global variables, re-renders the environment and
// re-applies only the services that use a changed variable, as an operation.
func (h *Handler) updateVariables(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req VariablesRequest
		caller, q, idem, answered, err := h.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		seen := map[string]bool{}
		for _, g := range req.Globals {
			if g.Key == "" || seen[g.Key] {
				return errs.Invalid("global_variables", "keys must be present and unique")
			}
			seen[g.Key] = true
		}
		e, err := h.changeable(r, k, caller, q)
		if err != nil {
			return err
		}
		// The listed variables are updated (or added); the others keep their values.
		merged, changed := slices.Clone(e.Globals), map[string]bool{}
		for _, g := range req.Globals {
			i := slices.IndexFunc(merged, func(kv model.KV) bool { return kv.Key == g.Key })
			switch {
			case i < 0:
				merged = append(merged, g)
				changed[g.Key] = true
			case merged[i].Value != g.Value:
				merged[i].Value = g.Value
				changed[g.Key] = true
			}
		}
		touched := map[string]bool{}
		for key := range changed {
			for _, name := range related(e, key) {
				touched[model.ServicePart(name)] = true
			}
		}
		opID, err := h.Start(r, operation.Update{Caller: caller, Env: e, Idem: idem, Input: "global_variables",
			Set: func(e *model.Environment) { e.Globals = merged }, Touched: func(part string) bool { return touched[part] }})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}
