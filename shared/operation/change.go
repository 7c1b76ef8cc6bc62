package operation

import (
	"context"
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/render"
	"github.com/envhub/envhub/shared/store"
)

// WriteStarted answers a request that started (or replayed) an operation.
func WriteStarted(w http.ResponseWriter, opID string) {
	api.WriteJSON(w, Started{"success", opID})
}

// Update is the common change: set turns e's desired state into the next
// one, the parts touched re-render and are applied (what they no longer
// render pruned) by an env-update operation, and the request answers with
// it. input says what was asked (operation and revision).
type Update struct {
	Caller  auth.Identity
	Env     *model.Environment // as the request read it
	Idem    *store.Idempotency
	Input   string
	Set     func(*model.Environment)
	Touched func(part string) bool
	// Prepare (optional) checks or amends the plan before it is recorded:
	// a route's own checks against the cluster, objects it adopts or prunes.
	Prepare func(ctx context.Context, p *plan.Plan) error
}

// Run plans and starts u, and answers the request.
func (h *Starter) Run(w http.ResponseWriter, r *http.Request, u Update) error {
	opID, err := h.Start(r, u)
	if err != nil {
		return err
	}
	WriteStarted(w, opID)
	return nil
}

// Start plans and starts u, and returns its operation.
func (h *Starter) Start(r *http.Request, u Update) (string, error) {
	next := Clone(u.Env)
	u.Set(next)
	p, err := h.Replan(r.Context(), u.Env, next, u.Touched)
	if err != nil {
		return "", err
	}
	if u.Prepare != nil {
		if err := u.Prepare(r.Context(), p); err != nil {
			return "", err
		}
	}
	set := func(e *model.Environment) {
		u.Set(e)
		Forget(e, p.Superseded)
	}
	return h.Begin(r, Change{Kind: model.OpUpdate, Machine: UpdateMachine, Plan: p, Idem: u.Idem, Input: u.Input},
		func(st store.Start) error {
			return h.Store.StartOperation(r.Context(), u.Env.ID, st, Desired(u.Env, u.Caller, set))
		})
}

// Forget drops what the workload routes set that a render superseded:
// images where the change named new ones (so the environment shows, and
// later renders, those), and what was set on workloads no longer rendered.
func Forget(e *model.Environment, superseded []render.Superseded) {
	for _, s := range superseded {
		for i := range e.Services {
			svc := &e.Services[i]
			if svc.Name != s.Service {
				continue
			}
			if s.Gone != "" {
				svc.Containers = slices.DeleteFunc(svc.Containers, func(c model.Container) bool { return c.Workload == s.Gone })
				svc.Replicas = slices.DeleteFunc(svc.Replicas, func(r model.Replicas) bool { return r.Workload == s.Gone })
				continue
			}
			svc.Containers = slices.DeleteFunc(svc.Containers, func(c model.Container) bool {
				return c.Workload == s.Image.Workload && c.Name == s.Image.Container && c.Base == s.Image.Base && c.Image == s.Image.Image
			})
		}
	}
}

// Clone copies e deeply enough for a change: its desired state's slices
// are its own.
func Clone(e *model.Environment) *model.Environment {
	c := *e
	c.Globals = slices.Clone(e.Globals)
	c.Configs = slices.Clone(e.Configs)
	c.Services = slices.Clone(e.Services)
	for i, s := range c.Services {
		c.Services[i].Containers = slices.Clone(s.Containers)
		c.Services[i].Variables = slices.Clone(s.Variables)
		c.Services[i].Replicas = slices.Clone(s.Replicas)
	}
	return &c
}
