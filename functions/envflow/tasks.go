// Package envflow runs the tasks of the environment state machines
// (infra/statemachines: env-create, env-update, env-delete): each task does
// one bounded step of an operation against the cluster and records it.
// Every task first checks that its operation still runs, so an execution
// that maintenance closed cannot touch the environment again.
package envflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/render"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what the tasks need from the store.
type Store interface {
	GetEnvironment(ctx context.Context, id string) (*model.Environment, error)
	GetOperation(ctx context.Context, id string) (*model.Operation, error)
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	PlanChunk(ctx context.Context, opID string, i int) ([]byte, error)
	Progress(ctx context.Context, envID, opID, step string, fn func(*model.Environment, *model.Operation)) error
	EndOperation(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error
	RecordApplied(ctx context.Context, envID string, objs []model.Applied) error
	ForgetApplied(ctx context.Context, envID string, objs []model.Applied) error
	Applied(ctx context.Context, envID, after string, limit int) ([]model.Applied, string, error)
}

var _ Store = (*store.Store)(nil)

// Handler runs tasks.
type Handler struct {
	Store     Store
	Connector cluster.Connector
	Sealer    plan.Sealer
	// Budget bounds the work of one task invocation; a loop in the
	// definition runs the next one. It stays well inside the function's timeout.
	Budget time.Duration
}

// Task builds the envflow task from Deps (the Lambda main and the local server use it).
func Task(d *deps.Deps) workflow.Task {
	h := &Handler{Store: d.Store, Connector: d.Connector(cluster.Timeout), Sealer: d.Sealer, Budget: 40 * time.Second}
	return h.Run
}

// Input is a task's input, as the definitions pass it.
type Input struct {
	Task          string  `json:"task"`
	EnvironmentID string  `json:"environment_id"`
	OperationID   string  `json:"operation_id"`
	IsDelete      bool    `json:"is_delete"`
	Cursor        *Cursor `json:"cursor,omitempty"`
	Error         *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error,omitempty"`
}

// Cursor is where a looping task (apply, delete-objects) goes on from.
type Cursor struct {
	Offset int  `json:"offset"`
	Done   bool `json:"done"`
}

// Run runs one task.
func (h *Handler) Run(ctx context.Context, payload json.RawMessage) (any, error) {
	var in Input
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: "bad task input: " + err.Error()}
	}
	// Calls in flight when the budget runs out still end inside the
	// function's timeout (120 s); a task cut here is retried from its cursor.
	ctx, cancel := context.WithTimeout(ctx, h.Budget+TaskMargin)
	defer cancel()
	out, err := h.run(ctx, &in)
	if te, ok := classify(err).(*workflow.TaskError); ok && te.Type == workflow.ErrFailed && !known(err) {
		slog.ErrorContext(ctx, "task failed", "task", in.Task, "operation", in.OperationID, "err", err)
	}
	return out, classify(err)
}

// TaskMargin is how long past its budget a task may still run: one
// cluster call (cluster.Timeout) and its records.
const TaskMargin = 45 * time.Second

func (h *Handler) run(ctx context.Context, in *Input) (any, error) {
	e, err := h.Store.GetEnvironment(ctx, in.EnvironmentID)
	if err != nil {
		return nil, err
	}
	op, err := h.Store.GetOperation(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	t := task{h: h, in: in, e: e, op: op}
	switch in.Task {
	case "succeed":
		return nil, t.end(ctx, model.EnvSuccess, model.OpSucceeded, "")
	case "fail", "delete-failed":
		state := model.EnvFailed
		if in.Task == "delete-failed" {
			state = model.EnvUnknown
		}
		cause := "failed"
		if in.Error != nil {
			cause = in.Error.Cause
		}
		return nil, t.end(ctx, state, model.OpFailed, cause)
	}
	if op.EnvironmentID != e.ID {
		return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: fmt.Sprintf("operation %s is not of environment %s", op.ID, e.ID)}
	}
	if op.Halted() {
		return nil, halted(op) // ended or ending by maintenance (deadline, lost execution): stop here
	}
	switch in.Task {
	case "begin":
		return nil, h.Store.Progress(ctx, e.ID, op.ID, "begin", nil)
	case "namespace":
		return nil, t.namespace(ctx)
	case "apply":
		return t.apply(ctx)
	case "check":
		return t.check(ctx)
	case "delete-objects":
		return t.deleteObjects(ctx)
	case "sweep":
		return nil, t.sweep(ctx)
	case "release-namespace":
		return t.releaseNamespace(ctx)
	case "namespace-gone":
		return t.namespaceGone(ctx)
	case "retain-namespace":
		return nil, t.retainNamespace(ctx)
	case "remove":
		return nil, t.remove(ctx)
	}
	return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: "unknown task " + in.Task}
}

func halted(op *model.Operation) error {
	return &workflow.TaskError{Type: workflow.ErrFailed, Message: fmt.Sprintf("operation %s has ended (%s): %s", op.ID, op.State, op.Error)}
}

// task is one invocation: its input and the records as it found them.
type task struct {
	h  *Handler
	in *Input
	e  *model.Environment
	op *model.Operation
}

func (t task) cluster(ctx context.Context) (*cluster.Cluster, error) {
	return t.h.Connector.Connect(ctx, t.e.ClusterID)
}

// labels select the environment's objects (render labels every one).
func (t task) labels() map[string]string {
	return render.Scope{Product: t.e.ProjectKey, EnvName: t.e.Key}.Labels("")
}

func (t task) selector() string {
	return render.LabelEnv + "=" + t.e.Key + "," + render.LabelProduct + "=" + t.e.ProjectKey + "," + render.LabelManagedBy + "=" + render.ManagedBy
}

func (t task) expired() bool { return time.Now().After(t.op.Deadline) }

// fence re-reads the operation before a round that changes the cluster:
// once maintenance ends (or starts ending) it, no more rounds run.
func (t task) fence(ctx context.Context) error {
	op, err := t.h.Store.GetOperation(ctx, t.op.ID)
	if err != nil {
		return err
	}
	if op.Halted() {
		return halted(op)
	}
	return nil
}

// end ends the operation and sets the environment's state.
func (t task) end(ctx context.Context, envState, opState, cause string) error {
	if !t.op.Stopping.IsZero() {
		return nil // maintenance ends it, once no task can still be in flight
	}
	return t.h.Store.EndOperation(ctx, t.e.ID, t.op.ID, func(e *model.Environment, op *model.Operation) {
		e.State, e.Reason = envState, cause
		op.State, op.Error = opState, cause
		op.Steps = append(op.Steps, map[string]string{model.OpSucceeded: "succeed", model.OpFailed: "fail"}[opState])
	})
}

// classify names errors for the definitions: what did not answer (a
// cluster, DynamoDB, KMS) and a task cut by its deadline are retried
// (Transient); the rest fail the operation, with a message the user can act
// on (the apiserver's, for rejected objects) or, for bugs, one that tells
// nothing of envhub's insides (they are logged).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *workflow.TaskError
	switch {
	case errors.As(err, &te):
		return err
	case errors.Is(err, errs.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &workflow.TaskError{Type: workflow.ErrTransient, Message: err.Error()}
	case known(err):
		return &workflow.TaskError{Type: workflow.ErrFailed, Message: err.Error()}
	}
	return &workflow.TaskError{Type: workflow.ErrFailed, Message: "internal error (logged)"}
}

// known tells errors of envhub's kinds, which speak to the user.
func known(err error) bool {
	var te *workflow.TaskError
	return errors.As(err, &te) || errors.Is(err, errs.ErrInvalid) || errors.Is(err, errs.ErrNotFound) ||
		errors.Is(err, errs.ErrForbidden) || errors.Is(err, errs.ErrConflict) || errors.Is(err, errs.ErrMismatch)
}
