// Package maintenance is the scheduled function (EventBridge, every 5
// minutes): it ends operations whose execution is gone or that ran past
// their deadline, so no environment stays busy.
package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what maintenance needs from the store.
type Store interface {
	RunningOperations(ctx context.Context) ([]model.Operation, error)
	Halt(ctx context.Context, envID, opID, reason string) error
	EndHalted(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error
	ForgetIdempotency(ctx context.Context, op *model.Operation) error
}

var _ Store = (*store.Store)(nil)

// Handler runs maintenance.
type Handler struct {
	Store    Store
	Workflow workflow.Runner
	// StartGrace is how long a new operation may go without a running
	// execution (its start may still be on its way).
	StartGrace time.Duration
	// Drain is how long an operation stays ending before it ends: longer
	// than a task may run (envflow's timeout), so none is still in flight.
	Drain time.Duration
	Now   func() time.Time
}

// Drain outlasts envflow's 120 s Lambda timeout (template.yaml).
const Drain = 150 * time.Second

// Task builds the maintenance function from Deps.
func Task(d *deps.Deps) workflow.Task {
	h := &Handler{Store: d.Store, Workflow: d.Workflow, StartGrace: time.Minute, Drain: Drain, Now: time.Now}
	return func(ctx context.Context, _ json.RawMessage) (any, error) { return h.Run(ctx) }
}

// Report is what one run found and did.
type Report struct {
	Running  int      `json:"running"`
	Stopping []Ending `json:"stopping"` // halted now, ended by a later run
	Ended    []Ending `json:"ended"`
}

// Ending is an operation maintenance ended, and why.
type Ending struct {
	OperationID   string `json:"operation_id"`
	EnvironmentID string `json:"environment_id"`
	Reason        string `json:"reason"`
}

// Run halts every running operation whose execution no longer runs, or
// whose deadline has passed (stopping its execution first), and ends those
// halted at least Drain ago, freeing their environments.
func (h *Handler) Run(ctx context.Context) (Report, error) {
	ops, err := h.Store.RunningOperations(ctx)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Running: len(ops), Stopping: []Ending{}, Ended: []Ending{}}
	var failures []error
	now := h.Now()
	for _, op := range ops {
		if !op.Stopping.IsZero() {
			if now.Sub(op.Stopping) < h.Drain {
				continue
			}
			if err := h.end(ctx, &op, op.Error); err != nil {
				failures = append(failures, fmt.Errorf("operation %s: %w", op.ID, err))
				continue
			}
			rep.Ended = append(rep.Ended, Ending{op.ID, op.EnvironmentID, op.Error})
			slog.WarnContext(ctx, "operation ended by maintenance", "operation", op.ID, "environment", op.EnvironmentID, "reason", op.Error)
			continue
		}
		reason, err := h.verdict(ctx, &op, now)
		if err == nil && reason != "" {
			err = h.Store.Halt(ctx, op.EnvironmentID, op.ID, reason)
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("operation %s: %w", op.ID, err))
			continue
		}
		if reason != "" {
			rep.Stopping = append(rep.Stopping, Ending{op.ID, op.EnvironmentID, reason})
		}
	}
	return rep, errors.Join(failures...)
}

// verdict says why op must end now ("" when it may go on).
func (h *Handler) verdict(ctx context.Context, op *model.Operation, now time.Time) (string, error) {
	if now.After(op.Deadline) {
		if err := h.Workflow.Stop(ctx, op.Machine, op.ID, "deadline passed"); err != nil {
			return "", err
		}
		return fmt.Sprintf("the operation ran past its deadline (%s)", op.Deadline.UTC().Format(time.RFC3339)), nil
	}
	if now.Sub(op.CreateTime) < h.StartGrace {
		return "", nil
	}
	running, err := h.Workflow.Running(ctx, op.Machine, op.ID)
	if err != nil || running {
		return "", err
	}
	return "its execution is not running: it never started, or ended without recording the outcome", nil
}

// end fails op and frees its environment: failed, or unknown after a
// delete. An operation that never began frees its Idempotency-Key too, so
// its request retried starts afresh rather than answering with it.
func (h *Handler) end(ctx context.Context, op *model.Operation, reason string) error {
	err := h.Store.EndHalted(ctx, op.EnvironmentID, op.ID, func(e *model.Environment, op *model.Operation) {
		op.State, op.Error, op.Steps = model.OpFailed, reason, append(op.Steps, "ended by maintenance")
		e.State, e.Reason = model.EnvFailed, reason
		if op.Kind == model.OpDelete {
			e.State = model.EnvUnknown
		}
	})
	if err != nil || slices.Contains(op.Steps, "begin") {
		return err
	}
	return h.Store.ForgetIdempotency(ctx, op)
}
