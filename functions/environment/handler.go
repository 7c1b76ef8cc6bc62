// Package environment serves the environment routes of the environment API
// (test and production): list, detail, create, edit, variables and delete,
// and the operations the changes start (state machines run them).
package environment

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what the handlers need from the store.
type Store interface {
	plan.Store
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	ProjectByKey(ctx context.Context, key string) (*model.Project, error)
	GetProject(ctx context.Context, id string) (*model.Project, error)
	GetEnvironment(ctx context.Context, id string) (*model.Environment, error)
	EnvironmentByKey(ctx context.Context, projectID, key string) (*model.Environment, error)
	ListEnvironments(ctx context.Context, projectID, envType string, p page.Page) ([]model.Environment, *store.Result, error)
	CreateEnvironment(ctx context.Context, e *model.Environment, st store.Start, check func(*model.Project) error) error
	UpdateEnvironment(ctx context.Context, id string, fn func(*model.Environment) error) (*model.Environment, error)
	StartOperation(ctx context.Context, envID string, st store.Start, fn func(*model.Environment) error) error
	EndOperation(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error
	GetOperation(ctx context.Context, id string) (*model.Operation, error)
	AllApplied(ctx context.Context, envID string) ([]model.Applied, error)
	ForgetIdempotency(ctx context.Context, op *model.Operation) error
	Halt(ctx context.Context, envID, opID, reason string) error
	Replayed(ctx context.Context, i *store.Idempotency) (string, error)
}

var _ Store = (*store.Store)(nil)

// State machine names (template.yaml's and infra/statemachines').
const (
	CreateMachine = "env-create"
	UpdateMachine = "env-update"
	DeleteMachine = "env-delete"
)

// Handler serves the area's routes.
type Handler struct {
	Store     Store
	Renderer  plan.Renderer
	Connector cluster.Connector // bounded well inside API Gateway's 29 s
	Sealer    plan.Sealer
	Workflow  workflow.Runner
	Deadline  time.Duration // how long an operation may run before maintenance ends it
}

// RequestTimeout bounds the cluster calls of a request, each and all
// together (API Gateway cuts requests at 29-30 s).
const RequestTimeout = 10 * time.Second

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return New(d).Actions()
}

// New builds the handler from Deps.
func New(d *deps.Deps) *Handler {
	return &Handler{Store: d.Store, Renderer: d.Renderer(), Connector: d.Connector(RequestTimeout), Sealer: d.Sealer,
		Workflow: d.Workflow, Deadline: 15 * time.Minute}
}

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	test, prod := kind{model.EnvTest}, kind{model.EnvProduction}
	return map[string]api.HandlerFunc{
		"ListEnvironments": h.list(test), "ListProductionEnvironments": h.list(prod),
		"GetEnvironment": h.get(test), "GetProductionEnvironment": h.get(prod),
		"CreateEnvironment": h.create(test), "CreateProductionEnvironment": h.create(prod),
		"UpdateEnvironment": h.update(test), "UpdateProductionEnvironment": h.update(prod),
		"DeleteEnvironment": h.delete(test), "DeleteProductionEnvironment": h.delete(prod),
		"GetEnvironmentVariables": h.getVariables(test), "GetProductionEnvironmentVariables": h.getVariables(prod),
		"UpdateEnvironmentVariables": h.updateVariables(test), "UpdateProductionEnvironmentVariables": h.updateVariables(prod),
		"GetOperation": h.getOperation,
	}
}

type kind struct{ envType string }

// reserved are the path words an env key must not be.
var reserved = map[string]bool{"production": true, "service": true, "scale": true, "image": true, "kube": true, "envcfgs": true}

func checkEnvKey(field, key string) error {
	if err := model.CheckKey(field, key, 32); err != nil {
		return err
	}
	if reserved[key] {
		return errs.Invalid(field, "%q is a reserved word", key)
	}
	return nil
}

// project reads the projectKey's project, hidden from callers who may not read it.
func (h *Handler) project(ctx context.Context, caller auth.Identity, q api.Query) (*model.Project, error) {
	key, err := q.String("projectKey")
	if err != nil {
		return nil, err
	}
	if err := model.CheckKey("projectKey", key, 32); err != nil {
		return nil, err
	}
	p, err := h.Store.ProjectByKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if !caller.CanRead(p.Owner, p.Visibility) || p.Status != model.StatusActive {
		return nil, errs.NotFound("project", key)
	}
	return p, nil
}

// environment reads the path's environment of the right type.
func (h *Handler) environment(r *http.Request, k kind, caller auth.Identity, q api.Query) (*model.Project, *model.Environment, error) {
	p, err := h.project(r.Context(), caller, q)
	if err != nil {
		return nil, nil, err
	}
	key := r.PathValue("envKey")
	if err := checkEnvKey("envKey", key); err != nil {
		return nil, nil, err
	}
	e, err := h.Store.EnvironmentByKey(r.Context(), p.ID, key)
	if err != nil {
		return nil, nil, err
	}
	if e.Type != k.envType || e.Status != model.StatusActive {
		return nil, nil, errs.NotFound("environment", key)
	}
	return p, e, nil
}

// changeable reads the path's environment for a change: the caller must
// be able to change its project and still read its cluster (a runtime env
// made private, or whose credential went, takes no more changes from
// those who lost it).
func (h *Handler) changeable(r *http.Request, k kind, caller auth.Identity, q api.Query) (*model.Environment, error) {
	p, e, err := h.environment(r, k, caller, q)
	if err != nil {
		return nil, err
	}
	if err := caller.Writable("project", &p.Record); err != nil {
		return nil, err
	}
	env, err := h.Store.GetRuntimeEnv(r.Context(), e.ClusterID)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return nil, err
	}
	if err != nil || env.Status != model.StatusActive || !caller.CanRead(env.Owner, env.Visibility) {
		return nil, errs.Forbidden("runtime env %s of environment %s is no longer available to you: an admin can still change or delete it", e.ClusterID, e.Key)
	}
	return e, nil
}

// request reads what every route needs: the caller, the query (projectKey
// plus extra parameters) and, when body is not nil, the JSON body.
func request(r *http.Request, body any, extra ...string) (auth.Identity, api.Query, error) {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return caller, api.Query{}, err
	}
	q, err := api.ParseQuery(r, append([]string{"projectKey"}, extra...)...)
	if err != nil {
		return caller, q, err
	}
	if body != nil {
		err = api.DecodeBody(r, body)
	}
	return caller, q, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
