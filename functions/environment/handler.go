// Package environment serves the environment routes of the environment API
// (test and production): list, detail, create, edit and delete, and the
// operations create and delete start (state machines run them).
package environment

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/envctl"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what the handlers need from the store.
type Store interface {
	envctl.Store
	ProjectByKey(ctx context.Context, key string) (*model.Project, error)
	GetProject(ctx context.Context, id string) (*model.Project, error)
	GetEnvironment(ctx context.Context, id string) (*model.Environment, error)
	CreateEnvironment(ctx context.Context, e *model.Environment, op *model.Operation, idempotencyKey string, check func(*model.Project) error) error
	OperationByIdempotencyKey(ctx context.Context, projectID, key string) (*model.Operation, error)
	EnvironmentByKey(ctx context.Context, projectID, key string) (*model.Environment, error)
	GetOperation(ctx context.Context, id string) (*model.Operation, error)
	UpdateEnvironment(ctx context.Context, id, opID string, fn func(*model.Environment, *model.Operation) error) (*model.Environment, error)
	StartOperation(ctx context.Context, envID string, op *model.Operation, fn func(*model.Environment) error) error
	ListEnvironments(ctx context.Context, projectID, envType string, page page.Page) ([]model.Environment, *store.Result, error)
}

var _ Store = (*store.Store)(nil)

// State machine names (template.yaml's and infra/statemachines').
const (
	CreateMachine = "env-create"
	DeleteMachine = "env-delete"
)

// Handler serves the area's routes.
type Handler struct {
	Store    Store
	Ctl      envctl.Deps
	Workflow workflow.Starter
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	h := &Handler{Store: d.Store, Ctl: envctl.Deps{Store: d.Store, Opener: d.Sealer, Policy: d.Policy}, Workflow: d.Workflow}
	return h.Actions()
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

// started is the body of a request that started an operation.
type started struct {
	Message     string `json:"message"`
	OperationID string `json:"operation_id"`
}

func (h *Handler) start(ctx context.Context, machine string, e *model.Environment, op *model.Operation, isDelete bool) error {
	input, _ := json.Marshal(map[string]any{"environment_id": e.ID, "operation_id": op.ID, "is_delete": isDelete})
	execution, err := h.Workflow.Start(ctx, machine, op.ID, input)
	if err != nil {
		// The operation cannot run: record why, free the environment.
		_, _ = h.Store.UpdateEnvironment(ctx, e.ID, op.ID, func(e *model.Environment, op *model.Operation) error {
			e.OperationID, e.State, e.Reason = "", model.EnvUnknown, err.Error()
			op.State, op.Error = model.OpFailed, err.Error()
			return nil
		})
		return err
	}
	_, err = h.Store.UpdateEnvironment(ctx, e.ID, op.ID, func(_ *model.Environment, op *model.Operation) error {
		op.Execution = execution
		return nil
	})
	return err
}

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
		"error": op.Error, "start_time": op.CreateTime.Unix(), "end_time": nil}
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

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
