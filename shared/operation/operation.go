// Package operation is how a request changes an environment: it reads the
// environment, renders and plans the change (a 400 naming every error
// before anything is recorded), records the desired state, the plan, the
// operation and a revision in one transaction, starts the state machine
// execution and answers with the operation at once. Every route that
// changes a cluster goes this one way.
package operation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/workflow"
)

// Store is what reading environments and starting operations need.
type Store interface {
	plan.Store
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	ProjectByKey(ctx context.Context, key string) (*model.Project, error)
	EnvironmentByKey(ctx context.Context, projectID, key string) (*model.Environment, error)
	ProjectEnvironment(ctx context.Context, projectKey, envKey string) (*model.Project, *model.Environment, error)
	StartOperation(ctx context.Context, envID string, st store.Start, fn func(*model.Environment) error) error
	EndOperation(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error
	GetOperation(ctx context.Context, id string) (*model.Operation, error)
	AllApplied(ctx context.Context, envID string) ([]model.Applied, error)
	ForgetIdempotency(ctx context.Context, op *model.Operation) error
	Halt(ctx context.Context, envID, opID, reason string) error
	Replayed(ctx context.Context, i *store.Idempotency) (string, error)
	Prefetch(ctx context.Context, projectKey, envKey string, refs ...store.Ref) context.Context
}

var _ Store = (*store.Store)(nil)

// State machine names (template.yaml's and infra/statemachines').
const (
	CreateMachine = "env-create"
	UpdateMachine = "env-update"
	DeleteMachine = "env-delete"
)

// RequestTimeout bounds the cluster calls of a request, each and all
// together (API Gateway cuts requests at 29-30 s).
const RequestTimeout = 10 * time.Second

// Starter starts operations on environments.
type Starter struct {
	Store     Store
	Renderer  plan.Renderer
	Connector cluster.Connector // bounded well inside API Gateway's 29 s
	Sealer    plan.Sealer
	Workflow  workflow.Runner
	Deadline  time.Duration // how long an operation may run before maintenance ends it
}

// New builds a Starter from Deps.
func New(d *deps.Deps) *Starter {
	return &Starter{Store: d.Store, Renderer: d.Renderer(), Connector: d.Connector(RequestTimeout), Sealer: d.Sealer,
		Workflow: d.Workflow, Deadline: 15 * time.Minute}
}

// Change is one operation a request asks for.
type Change struct {
	Kind     string // model.OpCreate, OpUpdate or OpDelete
	Machine  string
	Input    string     // what was asked, for the operation and its revision
	IsDelete bool       // deletes: also delete the namespace and what runs there
	Plan     *plan.Plan // what it applies and prunes, and what the environment then renders (its revision); nil for deletes
	Idem     *store.Idempotency
}

// Started is the body of a request that started an operation.
type Started struct {
	Message     string `json:"message"`
	OperationID string `json:"operation_id"`
}

// Begin records the operation through record (a store transaction that
// also records the desired state) and starts its execution. A replayed
// Idempotency-Key answers with the operation its first request started.
func (h *Starter) Begin(r *http.Request, ch Change, record func(store.Start) error) (string, error) {
	ctx := r.Context()
	op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: ch.Kind, Machine: ch.Machine,
		Input: ch.Input, IsDelete: ch.IsDelete, Deadline: time.Now().UTC().Add(h.Deadline)}
	st := store.Start{Op: op, Idempotency: ch.Idem}
	if ch.Plan != nil {
		var err error
		op.Plan = ch.Plan.Stats()
		if st.Plan, st.Revision, err = ch.Plan.Seal(ctx, h.Sealer, op.ID, store.MaxPlanChunks); err != nil {
			return "", err
		}
		st.Hosts = plan.Hosts(ch.Plan.All)
	}
	err := record(st)
	var replay *store.Replay
	if errors.As(err, &replay) { // the same request, at the same time
		h.resume(ctx, replay.OperationID)
		return replay.OperationID, nil
	}
	if err != nil {
		return "", err
	}
	// Recorded, it must start even if the client has gone meanwhile.
	startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
	defer cancel()
	err = h.Workflow.Start(startCtx, ch.Machine, op.ID, executionInput(op))
	if err == nil {
		return op.ID, nil
	}
	slog.ErrorContext(ctx, "execution did not start", "operation", op.ID, "machine", ch.Machine, "err", err)
	checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
	defer cancel()
	switch running, rerr := h.Workflow.Running(checkCtx, ch.Machine, op.ID); {
	case rerr == nil && running:
		return op.ID, nil // the answer was lost, not the start
	case rerr != nil:
		// It may run after all: halted, it does nothing more, and
		// maintenance ends it once no task of it can be in flight.
		_ = h.Store.Halt(checkCtx, op.EnvironmentID, op.ID, "the operation's start could not be confirmed")
	default:
		h.abandon(checkCtx, op)
	}
	return "", fmt.Errorf("%w: operation %s could not start (the state machine service did not take it): retry later", errs.ErrUnavailable, op.ID)
}

// executionInput is an operation's execution input: the same every time,
// so a start is idempotent by the execution's name.
func executionInput(op *model.Operation) []byte {
	input, _ := json.Marshal(map[string]any{"environment_id": op.EnvironmentID, "operation_id": op.ID, "is_delete": op.IsDelete,
		"cursor": map[string]any{"offset": 0, "done": false}})
	return input
}

// Replay answers a request made before with the same Idempotency-Key (and
// the same body: else 422) with the operation the first one started, before
// anything else is checked or rendered; answered tells it did. It returns
// the key for a new request.
func (h *Starter) Replay(w http.ResponseWriter, r *http.Request, caller auth.Identity, body any) (idem *store.Idempotency, answered bool, err error) {
	if idem, err = idempotency(r, caller, body); err != nil || idem == nil {
		return idem, false, err
	}
	opID, err := h.Store.Replayed(r.Context(), idem)
	if err != nil || opID == "" {
		return idem, false, err
	}
	h.resume(r.Context(), opID)
	WriteStarted(w, opID)
	return idem, true, nil
}

// resume starts the execution of a running operation that has none: the
// request that recorded it went away before starting it (starts are
// idempotent by name, so a start in flight is no harm). Failing that, the
// replay still answers with the operation, which maintenance ends.
func (h *Starter) resume(ctx context.Context, opID string) {
	op, err := h.Store.GetOperation(ctx, opID)
	if err != nil || op.Halted() {
		return
	}
	if running, err := h.Workflow.Running(ctx, op.Machine, op.ID); err != nil || running {
		return
	}
	if err := h.Workflow.Start(ctx, op.Machine, op.ID, executionInput(op)); err != nil {
		slog.WarnContext(ctx, "could not resume an operation", "operation", op.ID, "err", err)
	}
}

// abandon ends an operation whose execution never started, so the request
// leaves nothing busy: a create is undone (nothing was applied), other
// changes leave the environment failed with the reason, and the
// Idempotency-Key is forgotten so a retry starts afresh. If even this
// fails, maintenance finds the operation without an execution and ends it.
func (h *Starter) abandon(ctx context.Context, op *model.Operation) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	const reason = "the operation could not start: the state machine service did not take it"
	for attempt := 0; attempt < 3; attempt++ {
		err := h.Store.EndOperation(ctx, op.EnvironmentID, op.ID, func(e *model.Environment, op *model.Operation) {
			op.State, op.Error, op.Steps = model.OpFailed, reason, append(op.Steps, "fail")
			if op.Kind == model.OpCreate {
				e.Status = model.StatusDeleted
			}
			e.State, e.Reason = model.EnvFailed, reason
		})
		if err == nil {
			_ = h.Store.ForgetIdempotency(ctx, op)
			return
		}
	}
}

// idempotency reads the request's Idempotency-Key: scoped to the caller,
// bound to what the request asks (route, path, query and body).
func idempotency(r *http.Request, caller auth.Identity, body any) (*store.Idempotency, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 128 {
		return nil, errs.Invalid("Idempotency-Key", "must be at most 128 characters")
	}
	for _, c := range key {
		if c < 0x21 || c > 0x7e {
			return nil, errs.Invalid("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	b, _ := json.Marshal(body)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", api.Action(r.Context()), r.URL.EscapedPath(), r.URL.Query().Encode())
	h.Write(b)
	return &store.Idempotency{Caller: caller.Subject, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

// Replan plans a change of e to next: the parts touched re-render (all of
// them when e failed, so the next change heals it) and what they no longer
// render is pruned.
func (h *Starter) Replan(ctx context.Context, e, next *model.Environment, touched func(part string) bool) (*plan.Plan, error) {
	out, err := h.Renderer.Render(ctx, next) // a value the templates refuse fails here, naming it
	if err != nil {
		return nil, err
	}
	applied, err := h.Store.AllApplied(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	if e.State == model.EnvFailed || e.State == model.EnvUnknown {
		touched = func(string) bool { return true }
	}
	p, err := plan.Build(next, out, applied, touched)
	if err != nil {
		return nil, err
	}
	return &p, h.CheckObjects(ctx, next, &p)
}

// CheckObjects refuses (400, naming each), before anything is recorded,
// objects the cluster could not take into the environment's namespace:
// kinds it does not serve, cluster-scoped ones a template slipped in; and
// (409) Ingress hosts routed elsewhere on the cluster.
func (h *Starter) CheckObjects(ctx context.Context, e *model.Environment, p *plan.Plan) error {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	if err := c.Check(e.Namespace, plan.Objects(p.Items)); err != nil {
		return err
	}
	return hostsFree(ctx, c, e, p)
}

// Desired is the change of a StartOperation: e must be as the request
// read it, then it takes the new desired state.
func Desired(read *model.Environment, caller auth.Identity, set func(*model.Environment)) func(*model.Environment) error {
	return func(cur *model.Environment) error {
		if cur.Version != read.Version {
			return errs.Conflict("environment %s changed while the request was prepared: retry", read.Key)
		}
		set(cur)
		cur.State, cur.UpdateBy = model.EnvUpdating, caller.Subject
		return nil
	}
}
