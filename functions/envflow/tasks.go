// Package envflow runs the tasks of the environment create and delete state
// machines (infra/statemachines): each task does one step against the
// cluster and records it on the environment and its operation.
package envflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/envctl"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what the tasks need from the store.
type Store interface {
	GetEnvironment(ctx context.Context, id string) (*model.Environment, error)
	GetOperation(ctx context.Context, id string) (*model.Operation, error)
	UpdateEnvironment(ctx context.Context, id, opID string, fn func(*model.Environment, *model.Operation) error) (*model.Environment, error)
}

var _ Store = (*store.Store)(nil)

// Handler runs tasks.
type Handler struct {
	Store        Store
	Ctl          envctl.Deps
	ReadyTimeout time.Duration // how long workloads may take to become ready
}

// Task builds the envflow task from Deps (the Lambda main and the local server use it).
func Task(d *deps.Deps) workflow.Task {
	h := &Handler{Store: d.Store, Ctl: envctl.Deps{Store: d.Store, Opener: d.Sealer, Policy: d.Policy}, ReadyTimeout: 5 * time.Minute}
	return h.Run
}

// Input is a task's input, as the definitions pass it.
type Input struct {
	Task          string `json:"task"`
	EnvironmentID string `json:"environment_id"`
	OperationID   string `json:"operation_id"`
	IsDelete      bool   `json:"is_delete"`
	Error         *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error,omitempty"`
}

// Run runs one task.
func (h *Handler) Run(ctx context.Context, payload json.RawMessage) (any, error) {
	var in Input
	if err := json.Unmarshal(payload, &in); err != nil {
		return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: "bad task input: " + err.Error()}
	}
	out, err := h.run(ctx, &in)
	return out, classify(err)
}

func (h *Handler) run(ctx context.Context, in *Input) (any, error) {
	e, err := h.Store.GetEnvironment(ctx, in.EnvironmentID)
	if err != nil {
		return nil, err
	}
	switch in.Task {
	case "begin":
		return nil, h.step(ctx, in, "begin", nil)
	case "namespace":
		c, err := h.Ctl.Cluster(ctx, e.ClusterID)
		if err != nil {
			return nil, err
		}
		if err := c.EnsureNamespace(ctx, e.Namespace, render.Scope{Product: e.ProjectKey, EnvName: e.Key}.Labels("")); err != nil {
			return nil, err
		}
		return nil, h.step(ctx, in, "namespace", nil)
	case "registry", "configs", "services":
		return nil, h.apply(ctx, in, e)
	case "check":
		return h.check(ctx, in, e)
	case "succeed":
		return nil, h.finish(ctx, in, model.EnvSuccess, model.OpSucceeded, "")
	case "fail", "delete-failed":
		state := model.EnvFailed
		if in.Task == "delete-failed" {
			state = model.EnvUnknown
		}
		cause := "failed"
		if in.Error != nil {
			cause = in.Error.Cause
		}
		return nil, h.finish(ctx, in, state, model.OpFailed, cause)
	case "delete-objects":
		return nil, h.deleteObjects(ctx, in, e)
	case "delete-namespace", "unlabel-namespace":
		c, err := h.Ctl.Cluster(ctx, e.ClusterID)
		if err != nil {
			return nil, err
		}
		if in.Task == "delete-namespace" {
			err = c.DeleteNamespace(ctx, e.Namespace, false)
		} else {
			err = c.RemoveNamespaceLabels(ctx, e.Namespace)
		}
		if err != nil {
			return nil, err
		}
		return nil, h.step(ctx, in, in.Task, nil)
	case "namespace-gone":
		c, err := h.Ctl.Cluster(ctx, e.ClusterID)
		if err != nil {
			return nil, err
		}
		_, nsErr := c.Namespace(ctx, e.Namespace)
		if err := ignoreNotFound(nsErr); err != nil {
			return nil, err
		}
		op, err := h.Store.GetOperation(ctx, in.OperationID)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"gone": nsErr != nil, "expired": time.Since(op.CreateTime) > h.ReadyTimeout}, nil
	case "remove":
		_, err := h.Store.UpdateEnvironment(ctx, in.EnvironmentID, in.OperationID, func(e *model.Environment, op *model.Operation) error {
			e.Status, e.OperationID, e.Reason = model.StatusDeleted, "", ""
			op.State, op.Ended, op.Steps = model.OpSucceeded, time.Now().UTC(), append(op.Steps, "remove")
			return nil
		})
		return nil, err
	}
	return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: "unknown task " + in.Task}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	return err
}

// step records a finished step on the operation (and lets fn change the env).
func (h *Handler) step(ctx context.Context, in *Input, name string, fn func(*model.Environment)) error {
	_, err := h.Store.UpdateEnvironment(ctx, in.EnvironmentID, in.OperationID, func(e *model.Environment, op *model.Operation) error {
		op.Steps = append(op.Steps, name)
		if fn != nil {
			fn(e)
		}
		return nil
	})
	return err
}

// apply renders the environment (deterministically, as the create request
// did) and applies one part of it.
func (h *Handler) apply(ctx context.Context, in *Input, e *model.Environment) error {
	if in.Task == "registry" && e.RegistryID == "" || in.Task == "configs" && len(e.Configs) == 0 {
		return h.step(ctx, in, in.Task, nil) // nothing of that part to apply
	}
	out, err := h.Ctl.Render(ctx, e)
	if err != nil {
		return err
	}
	var objs []*unstructured.Unstructured
	switch in.Task {
	case "registry":
		if out.Registry != nil {
			objs = append(objs, out.Registry)
		}
	case "configs":
		objs = out.Configs
	case "services":
		for _, s := range out.Services {
			objs = append(objs, s...)
		}
	}
	c, err := h.Ctl.Cluster(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	refs, err := c.ApplyObjects(ctx, e.Namespace, objs, nil)
	if err != nil {
		return err
	}
	return h.step(ctx, in, in.Task, func(e *model.Environment) { envctl.Record(e, refs) })
}

// checkFor is how long one check task watches readiness before handing
// back to the definition's Wait + Choice loop: most environments are ready
// within it, and the loop's 1 s granularity then costs nothing.
const checkFor = 10 * time.Second

// check reports whether the environment's workloads are ready, and whether
// the operation's deadline has passed.
func (h *Handler) check(ctx context.Context, in *Input, e *model.Environment) (any, error) {
	op, err := h.Store.GetOperation(ctx, in.OperationID)
	if err != nil {
		return nil, err
	}
	c, err := h.Ctl.Cluster(ctx, e.ClusterID)
	if err != nil {
		return nil, err
	}
	until := time.Now().Add(checkFor)
	for {
		ws, err := c.Workloads(ctx, e.Namespace, render.LabelEnv+"="+e.Key+","+render.LabelManagedBy+"="+render.ManagedBy)
		if err != nil {
			return nil, err
		}
		ready := true
		for _, w := range ws {
			ready = ready && w.IsReady()
		}
		if ready || time.Now().After(until) {
			return map[string]bool{"ready": ready, "expired": time.Since(op.CreateTime) > h.ReadyTimeout}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finish ends the operation and sets the environment's state.
func (h *Handler) finish(ctx context.Context, in *Input, envState, opState, cause string) error {
	_, err := h.Store.UpdateEnvironment(ctx, in.EnvironmentID, in.OperationID, func(e *model.Environment, op *model.Operation) error {
		e.State, e.Reason, e.OperationID = envState, cause, ""
		op.State, op.Error, op.Ended = opState, cause, time.Now().UTC()
		op.Steps = append(op.Steps, map[string]string{model.OpSucceeded: "succeed", model.OpFailed: "fail"}[opState])
		return nil
	})
	return err
}

func (h *Handler) deleteObjects(ctx context.Context, in *Input, e *model.Environment) error {
	c, err := h.Ctl.Cluster(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	refs := make([]cluster.Ref, len(e.Applied))
	for i, r := range e.Applied {
		refs[i] = cluster.Ref{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	}
	if err := c.Delete(ctx, refs); err != nil {
		return err
	}
	return h.step(ctx, in, "delete-objects", func(e *model.Environment) { e.Applied = nil })
}

// classify names errors for the definitions: unreachable clusters and
// concurrent changes are retried (Transient); the rest fail the operation
// with a message the user can act on (the apiserver's, for rejected objects).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *workflow.TaskError
	switch {
	case errors.As(err, &te):
		return err
	case errors.Is(err, errs.ErrUnavailable):
		return &workflow.TaskError{Type: workflow.ErrTransient, Message: err.Error()}
	case errors.Is(err, errs.ErrInvalid), errors.Is(err, errs.ErrNotFound), errors.Is(err, errs.ErrForbidden), errors.Is(err, errs.ErrConflict):
		return &workflow.TaskError{Type: workflow.ErrFailed, Message: err.Error()}
	}
	return &workflow.TaskError{Type: workflow.ErrTransient, Message: fmt.Sprintf("%v", err)}
}
