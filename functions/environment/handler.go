// Package environment serves the environment routes of the environment API
// (test and production): list, detail, create, edit, variables and delete,
// and the operations the changes start (state machines run them).
package environment

import (
	"context"
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/store"
)

// Store is what the handlers need from the store.
type Store interface {
	operation.Store
	GetProject(ctx context.Context, id string) (*model.Project, error)
	GetEnvironment(ctx context.Context, id string) (*model.Environment, error)
	ListEnvironments(ctx context.Context, projectID, envType string, p page.Page) ([]model.Environment, *store.Result, error)
	CreateEnvironment(ctx context.Context, e *model.Environment, st store.Start, check func(*model.Project) error) error
	UpdateEnvironment(ctx context.Context, id string, fn func(*model.Environment) error) (*model.Environment, error)
	GetRevision(ctx context.Context, envID string, n int) (*model.Revision, error)
	ListRevisions(ctx context.Context, envID string, from, to int) ([]model.Revision, error)
	RevisionObjects(ctx context.Context, rev *model.Revision) ([][]byte, error)
}

var _ Store = (*store.Store)(nil)

// State machine names (template.yaml's and infra/statemachines').
const (
	CreateMachine = operation.CreateMachine
	UpdateMachine = operation.UpdateMachine
	DeleteMachine = operation.DeleteMachine
)

// Handler serves the area's routes; operations start through the Starter.
type Handler struct {
	*operation.Starter
	Store Store
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return New(d).Actions()
}

// New builds the handler from Deps.
func New(d *deps.Deps) *Handler {
	return &Handler{Starter: operation.New(d), Store: d.Store}
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
		"GetOperation":  h.getOperation,
		"ListRevisions": h.listRevisions(test), "ListProductionRevisions": h.listRevisions(prod),
		"GetRevision": h.getRevision(test), "GetProductionRevision": h.getRevision(prod),
		"RollbackRevision": h.rollback(test), "RollbackProductionRevision": h.rollback(prod),
	}
}

type kind struct{ envType string }

// environment reads the path's environment.
func (h *Handler) environment(r *http.Request, k kind, caller auth.Identity, q api.Query) (*model.Project, *model.Environment, error) {
	return h.Environment(r, k.envType, r.PathValue("envKey"), caller, q)
}

// changeable reads the path's environment for a change.
func (h *Handler) changeable(r *http.Request, k kind, caller auth.Identity, q api.Query) (*model.Environment, error) {
	return h.Changeable(r, k.envType, r.PathValue("envKey"), caller, q)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
