package service

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// The services of an environment: adding, re-rendering and removing them
// are operations on the one apply path (shared/operation), each touching
// only the parts of the services named.

// ServiceVars is one service of an add or update body.
type ServiceVars struct {
	Name      string          `json:"service_name"`
	Variables []model.Setting `json:"variable_kvs"`
}

// AddServicesRequest is the add body.
type AddServicesRequest struct {
	EnvKey   string        `json:"env_key"`
	Services []ServiceVars `json:"service_list"`
}

// UpdateServicesRequest is the update body (the env key is in the path).
type UpdateServicesRequest struct {
	Services []ServiceVars `json:"service_list"`
}

// DeleteServicesRequest is the delete body.
type DeleteServicesRequest struct {
	EnvKey string   `json:"env_key"`
	Names  []string `json:"service_names"`
}

// checkList checks a service list: present, names valid and unique,
// variable keys present and unique per service; every error at once.
func checkList(list []ServiceVars) error {
	if len(list) == 0 {
		return errs.Invalid("service_list", "must name at least one service")
	}
	var failures []string
	seen := map[string]bool{}
	for _, s := range list {
		if err := model.CheckKey("service_list.service_name", s.Name, 63); err != nil {
			failures = append(failures, strings.TrimPrefix(err.Error(), errs.ErrInvalid.Error()+": "))
		} else if seen[s.Name] {
			failures = append(failures, fmt.Sprintf("service_list: service %q is listed twice", s.Name))
		}
		seen[s.Name] = true
		keys := map[string]bool{}
		for _, v := range s.Variables {
			if v.Key == "" || keys[v.Key] {
				failures = append(failures, fmt.Sprintf("service_list.variable_kvs: keys of service %q must be present and unique", s.Name))
				break
			}
			keys[v.Key] = true
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%w: %s", errs.ErrInvalid, strings.Join(failures, "; "))
	}
	return nil
}

func servicePart(names map[string]bool) func(string) bool {
	return func(part string) bool {
		name, ok := model.PartService(part)
		return ok && names[name]
	}
}

func (h *Handler) addServices(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req AddServicesRequest
		caller, q, idem, answered, err := h.Ops.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		if err := checkList(req.Services); err != nil {
			return err
		}
		e, err := h.Ops.Changeable(r, k.envType, req.EnvKey, caller, q)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		var there []string
		for _, s := range req.Services {
			names[s.Name] = true
			if slices.ContainsFunc(e.Services, func(x model.EnvService) bool { return x.Name == s.Name }) {
				there = append(there, s.Name)
			}
		}
		if len(there) > 0 {
			return errs.Conflict("environment %s already has services %v: update them instead", e.Key, there)
		}
		// Unset variables take the template's defaults (render.Value).
		return h.Ops.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: servicePart(names),
			Input: "add services " + strings.Join(sortedKeys(names), ","),
			Set: func(e *model.Environment) {
				for _, s := range req.Services {
					e.Services = append(e.Services, model.EnvService{Name: s.Name, Containers: []model.Container{}, Variables: s.Variables})
				}
			}})
	}
}

// updateServices re-renders the services listed with their new variables
// (a key listed replaces the stored setting; the others stay), applies
// what changed and prunes what they no longer render.
func (h *Handler) updateServices(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req UpdateServicesRequest
		caller, q, idem, answered, err := h.Ops.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		if err := checkList(req.Services); err != nil {
			return err
		}
		e, err := h.Ops.Changeable(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, s := range req.Services {
			names[s.Name] = true
		}
		if missing := absent(e, names); len(missing) > 0 {
			return errs.Invalid("service_list", "environment %s has no services %v", e.Key, missing)
		}
		return h.Ops.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: servicePart(names),
			Input: "update services " + strings.Join(sortedKeys(names), ","),
			Set: func(e *model.Environment) {
				for _, s := range req.Services {
					i := slices.IndexFunc(e.Services, func(x model.EnvService) bool { return x.Name == s.Name })
					if i < 0 {
						continue
					}
					vars := slices.Clone(e.Services[i].Variables)
					for _, v := range s.Variables {
						if j := slices.IndexFunc(vars, func(x model.Setting) bool { return x.Key == v.Key }); j >= 0 {
							vars[j] = v
						} else {
							vars = append(vars, v)
						}
					}
					e.Services[i].Variables = vars
				}
			}})
	}
}

// deleteServices prunes the objects of the services named; an unknown
// name is a 400 and nothing is removed.
func (h *Handler) deleteServices(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req DeleteServicesRequest
		caller, q, idem, answered, err := h.Ops.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		if len(req.Names) == 0 {
			return errs.Invalid("service_names", "must name at least one service")
		}
		names := map[string]bool{}
		var failures []string
		for _, n := range req.Names {
			if err := model.CheckKey("service_names", n, 63); err != nil {
				failures = append(failures, strings.TrimPrefix(err.Error(), errs.ErrInvalid.Error()+": "))
			} else if names[n] {
				failures = append(failures, fmt.Sprintf("service_names: service %q is listed twice", n))
			}
			names[n] = true
		}
		if len(failures) > 0 {
			return fmt.Errorf("%w: %s", errs.ErrInvalid, strings.Join(failures, "; "))
		}
		e, err := h.Ops.Changeable(r, k.envType, req.EnvKey, caller, q)
		if err != nil {
			return err
		}
		if missing := absent(e, names); len(missing) > 0 {
			return errs.Invalid("service_names", "environment %s has no services %v", e.Key, missing)
		}
		return h.Ops.Run(w, r, operation.Update{Caller: caller, Env: e, Idem: idem, Touched: servicePart(names),
			Input: "delete services " + strings.Join(sortedKeys(names), ","),
			Set: func(e *model.Environment) {
				e.Services = slices.DeleteFunc(e.Services, func(s model.EnvService) bool { return names[s.Name] })
			}})
	}
}

// absent lists the names e has no service of, sorted.
func absent(e *model.Environment, names map[string]bool) []string {
	var out []string
	for _, n := range sortedKeys(names) {
		if !slices.ContainsFunc(e.Services, func(s model.EnvService) bool { return s.Name == n }) {
			out = append(out, n)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
