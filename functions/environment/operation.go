package environment

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
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/store"
)

// change is one operation a request asks for: every cluster change goes
// this one way (record desired state, plan and operation in one
// transaction; start the execution; answer with the operation).
type change struct {
	kind     string // model.OpCreate, OpUpdate or OpDelete
	machine  string
	input    string     // what was asked, for the operation record
	isDelete bool       // deletes: also delete the namespace and what runs there
	plan     *plan.Plan // what it applies and prunes; nil for deletes
	idem     *store.Idempotency
}

// started is the body of a request that started an operation.
type started struct {
	Message     string `json:"message"`
	OperationID string `json:"operation_id"`
}

// begin records the operation through record (a store transaction that
// also records the desired state) and starts its execution. A replayed
// Idempotency-Key answers with the operation its first request started.
func (h *Handler) begin(r *http.Request, ch change, record func(store.Start) error) (string, error) {
	ctx := r.Context()
	var err error
	op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: ch.kind, Machine: ch.machine,
		Input: ch.input, IsDelete: ch.isDelete, Deadline: time.Now().UTC().Add(h.Deadline)}
	var chunks [][]byte
	if ch.plan != nil {
		op.Plan = ch.plan.Stats()
		if chunks, err = ch.plan.Seal(ctx, h.Sealer, op.ID, store.MaxPlanChunks); err != nil {
			return "", err
		}
	}
	err = record(store.Start{Op: op, Plan: chunks, Idempotency: ch.idem})
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
	err = h.Workflow.Start(startCtx, ch.machine, op.ID, executionInput(op))
	if err == nil {
		return op.ID, nil
	}
	slog.ErrorContext(ctx, "execution did not start", "operation", op.ID, "machine", ch.machine, "err", err)
	checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RequestTimeout)
	defer cancel()
	switch running, rerr := h.Workflow.Running(checkCtx, ch.machine, op.ID); {
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

// replay answers a request made before with the same Idempotency-Key (and
// the same body: else 422) with the operation the first one started, before
// anything else is checked or rendered; answered tells it did. It returns
// the key for a new request.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request, caller auth.Identity, body any) (idem *store.Idempotency, answered bool, err error) {
	if idem, err = idempotency(r, caller, body); err != nil || idem == nil {
		return idem, false, err
	}
	opID, err := h.Store.Replayed(r.Context(), idem)
	if err != nil || opID == "" {
		return idem, false, err
	}
	h.resume(r.Context(), opID)
	api.WriteJSON(w, started{"success", opID})
	return idem, true, nil
}

// resume starts the execution of a running operation that has none: the
// request that recorded it went away before starting it (starts are
// idempotent by name, so a start in flight is no harm). Failing that, the
// replay still answers with the operation, which maintenance ends.
func (h *Handler) resume(ctx context.Context, opID string) {
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
func (h *Handler) abandon(ctx context.Context, op *model.Operation) {
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

// replan plans a change of e to next: the parts touched re-render (all of
// them when e failed, so the next change heals it) and what they no longer
// render is pruned.
func (h *Handler) replan(ctx context.Context, e, next *model.Environment, touched func(part string) bool) (*plan.Plan, error) {
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
	return &p, h.checkObjects(ctx, next, &p)
}

// checkObjects refuses (400, naming each), before anything is recorded,
// objects the cluster could not take into the environment's namespace:
// kinds it does not serve, cluster-scoped ones a template slipped in.
func (h *Handler) checkObjects(ctx context.Context, e *model.Environment, p *plan.Plan) error {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	return c.Check(e.Namespace, plan.Objects(p.Items))
}

// desired is the change of a StartOperation: e must be as the request
// read it, then it takes the new desired state.
func desired(read *model.Environment, caller auth.Identity, set func(*model.Environment)) func(*model.Environment) error {
	return func(cur *model.Environment) error {
		if cur.Version != read.Version {
			return errs.Conflict("environment %s changed while the request was prepared: retry", read.Key)
		}
		set(cur)
		cur.State, cur.UpdateBy = model.EnvUpdating, caller.Subject
		return nil
	}
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
		"error": op.Error, "start_time": op.CreateTime.Unix(), "end_time": nil, "deadline": op.Deadline.Unix(), "plan": op.Plan}
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
