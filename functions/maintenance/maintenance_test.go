package maintenance_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/functions/maintenance"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/store"
)

// busy records an environment on the local cluster whose create operation
// runs (as far as the store knows), deadline after from now.
func busy(t *testing.T, e *lt.Env, clusterID, key string, deadline time.Duration) (*model.Environment, *model.Operation) {
	return busyWith(t, e, clusterID, key, deadline, nil)
}

func busyWith(t *testing.T, e *lt.Env, clusterID, key string, deadline time.Duration, idem *store.Idempotency) (*model.Environment, *model.Operation) {
	t.Helper()
	p, err := e.Deps.Store.ProjectByKey(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	env := &model.Environment{Record: model.Record{ID: model.NewID(model.KindEnvironment), Owner: "alice"}, ProjectID: p.ID, ProjectKey: "shop",
		Key: key, Type: model.EnvTest, ClusterID: clusterID, ClusterUID: "uid", Namespace: "shop-env-" + key, State: model.EnvCreating}
	op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: model.OpCreate, Machine: "env-create", Deadline: time.Now().Add(deadline)}
	if err := e.Deps.Store.CreateEnvironment(t.Context(), env, store.Start{Op: op, Idempotency: idem}, func(*model.Project) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return env, op
}

// Maintenance ends what would otherwise stay busy forever, and nothing
// else: an operation whose execution never started (or is gone), and one
// whose execution runs past its deadline (stopped first). Their
// environments take changes again; a healthy operation is left alone.
func TestMaintenanceEndsStuckOperations(t *testing.T) {
	e := lt.New(t)
	clusterID, _ := e.LocalRuntimeEnv(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "shop"}}))
	// A real engine runs an execution that only a stop ends.
	wf := local.Workflow("", local.NewCredentials())
	wf.Definitions = map[string]string{"env-create": filepath.Join(filepath.Dir(samtemplate.Path()), "functions", "maintenance", "testdata", "stuck.asl.json")}
	t.Cleanup(func() { _ = wf.Close() })
	ctx := context.Background()

	idem := &store.Idempotency{Caller: "alice", Key: "create-lost", Hash: "h"}
	lost, lostOp := busyWith(t, e, clusterID, "lost", time.Hour, idem) // its execution never started
	late, lateOp := busy(t, e, clusterID, "late", -time.Minute)        // running, past its deadline
	healthy, healthyOp := busy(t, e, clusterID, "healthy", time.Hour)  // running, in time
	for _, op := range []*model.Operation{lateOp, healthyOp} {
		if err := wf.Start(ctx, "env-create", op.ID, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Deps.Store.EndOperation(ctx, lost.ID, lostOp.ID, func(*model.Environment, *model.Operation) {}); err == nil {
		t.Fatal("EndOperation accepted leaving an operation running")
	}
	run := func(at time.Duration) (stopping, ended map[string]string) {
		t.Helper()
		h := &maintenance.Handler{Store: e.Deps.Store, Workflow: wf, StartGrace: time.Minute, Drain: maintenance.Drain, Now: func() time.Time { return time.Now().Add(at) }}
		rep, err := h.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stopping, ended = map[string]string{}, map[string]string{}
		for _, x := range rep.Stopping {
			stopping[x.OperationID] = x.Reason
		}
		for _, x := range rep.Ended {
			ended[x.OperationID] = x.Reason
		}
		return stopping, ended
	}
	// Now: the overdue one is stopped and halted (its tasks stop at once);
	// the one without an execution may still be starting.
	if stopping, ended := run(0); len(stopping) != 1 || !strings.Contains(stopping[lateOp.ID], "deadline") || len(ended) != 0 {
		t.Fatalf("first run: stopping %v, ended %v", stopping, ended)
	}
	if running, _ := wf.Running(ctx, "env-create", lateOp.ID); running {
		t.Fatal("the overdue execution still runs")
	}
	if got, _ := e.Deps.Store.GetEnvironment(ctx, late.ID); got.OperationID != lateOp.ID {
		t.Fatal("a halted operation freed its environment before its tasks could have finished")
	}
	// Two minutes on: the one whose execution never came is halted too.
	if stopping, ended := run(2 * time.Minute); len(stopping) != 1 || !strings.Contains(stopping[lostOp.ID], "not running") || len(ended) != 0 {
		t.Fatalf("second run: stopping %v, ended %v", stopping, ended)
	}
	// Five minutes on, both end.
	if stopping, ended := run(5 * time.Minute); len(stopping) != 0 || len(ended) != 2 || !strings.Contains(ended[lateOp.ID], "deadline") || !strings.Contains(ended[lostOp.ID], "not running") {
		t.Fatalf("third run: stopping %v, ended %v", stopping, ended)
	}
	// Its Idempotency-Key is free again: the request retried starts afresh.
	if op, err := e.Deps.Store.Replayed(ctx, idem); err != nil || op != "" {
		t.Fatalf("the key of an operation that never began answers %q, %v", op, err)
	}
	for _, env := range []*model.Environment{lost, late} {
		got, err := e.Deps.Store.GetEnvironment(ctx, env.ID)
		if err != nil || got.OperationID != "" || got.State != model.EnvFailed || got.Reason == "" {
			t.Fatalf("%s after maintenance: %+v %v", env.Key, got, err)
		}
	}
	if got, _ := e.Deps.Store.GetEnvironment(ctx, healthy.ID); got.OperationID != healthyOp.ID {
		t.Fatalf("a healthy operation was ended: %+v", got)
	}
	if stopping, ended := run(5 * time.Minute); len(stopping)+len(ended) != 0 {
		t.Fatalf("last run: stopping %v, ended %v", stopping, ended)
	}
	_ = wf.Stop(ctx, "env-create", healthyOp.ID, "test over")
}
