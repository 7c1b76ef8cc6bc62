package environment_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/envflow"
	"github.com/envhub/envhub/functions/environment"
	"github.com/envhub/envhub/functions/maintenance"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/workflow"
)

// many renders one ConfigMap per item of its list variable.
const many = `{{ range $i, $_ := .items }}---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-{{ $i }}}
data: {version: "{{ $.version }}"}
{{ end }}`

// A change that applies 3,000 objects survives its client: the request
// only records and starts the operation, so a client gone after 2 s cuts
// nothing; the operation finishes, and the environment takes changes again.
func TestClientGoneMidApply(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-big"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	items := "[" + strings.TrimSuffix(strings.Repeat("0,", 3000), ",") + "]"
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "many", "yaml": many,
		"variables": []map[string]any{{"key": "items", "type": "yaml", "value": "[0]"}, {"key": "version", "type": "string", "value": "0"}}}}))
	body := map[string]any{"env_key": "big", "cluster_id": f.clusterID, "global_variables": []map[string]any{{"key": "version", "value": "1"}},
		"services": []map[string]any{{"service_name": "many", "variable_kvs": []map[string]any{{"key": "items", "value": items}, {"key": "version", "use_global_variable": true}}}}}
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	set := func(v string) lt.Req {
		return lt.Req{Ctx: ctx, Query: pk(), Path: map[string]string{"envKey": "big"}, Body: map[string]any{"global_variables": []map[string]any{{"key": "version", "value": v}}}}
	}
	r := f.e.Call(lt.Alice, "UpdateEnvironmentVariables", set("2"))
	lt.Success(t, r)
	<-ctx.Done() // the client is gone
	done := f.wait(t, r.Body["operation_id"].(string))
	if done["status"] != "succeeded" || fmt.Sprint(done["plan"]) != "map[applied:3000 apply:3000 chunks:1 prune:0]" {
		t.Fatalf("update ended %v", done)
	}
	cms, err := f.c.Typed.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "s-service=many"})
	if err != nil || len(cms.Items) != 3000 {
		t.Fatalf("%d ConfigMaps, %v", len(cms.Items), err)
	}
	for _, cm := range cms.Items {
		if cm.Data["version"] != "2" {
			t.Fatalf("%s at version %s", cm.Name, cm.Data["version"])
		}
	}
	if got := len(f.applied(t, f.record(t, "big").ID)); got != 3000 {
		t.Fatalf("applied set of %d", got)
	}
	set3 := set("3")
	set3.Ctx = nil
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", set3), "succeeded", "apply 3000 prune 0")
}

// failingStart is Step Functions refusing to start executions.
type failingStart struct{ workflow.Runner }

func (failingStart) Start(context.Context, string, string, []byte) error {
	return errors.New("ServiceUnavailable: Step Functions is down")
}

// withWorkflow serves the environment function with another workflow runner.
func (f fixture) withWorkflow(t *testing.T, w workflow.Runner) {
	h := environment.New(f.e.Deps)
	h.Workflow = w
	router, err := api.Mount("environment", h.Actions())
	if err != nil {
		t.Fatal(err)
	}
	f.e.Fns["environment"] = httpadapter.NewV2(router)
}

// When an execution cannot start, the request fails (503) and leaves
// nothing busy: a create is undone, an update leaves the environment failed
// with the reason and free; the same Idempotency-Key retried later starts
// a new operation rather than answering with the dead one.
func TestStartFailureLeavesNothingBusy(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-flaky", false) })
	key := map[string]string{"Idempotency-Key": "create-flaky"}
	f.withWorkflow(t, failingStart{f.e.Deps.Workflow})
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("flaky", "web"), Headers: key}), 503, "could not start")
	if r := f.e.Call(lt.Alice, "ListEnvironments", lt.Req{Query: pk()}); len(r.List) != 0 {
		t.Fatalf("an environment that never started is listed: %s", r.Raw)
	}
	f.withWorkflow(t, f.e.Deps.Workflow)
	r := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("flaky", "web"), Headers: key})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("retried create ended %v", done)
	}

	vars := lt.Req{Query: pk(), Path: map[string]string{"envKey": "flaky"}, Headers: map[string]string{"Idempotency-Key": "vars-1"},
		Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}
	f.withWorkflow(t, failingStart{f.e.Deps.Workflow})
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", vars), 503, "could not start")
	e := f.record(t, "flaky")
	if e.OperationID != "" || e.State != model.EnvFailed || !strings.Contains(e.Reason, "could not start") {
		t.Fatalf("after a failed start: busy %q, %s %q", e.OperationID, e.State, e.Reason)
	}
	f.withWorkflow(t, f.e.Deps.Workflow)
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", vars), "succeeded", "apply 2 prune 0") // failed: re-applied whole
}

// An Idempotency-Key is its caller's: the same request again answers with
// the first operation, the same key with another request is a 422, another
// caller's same key is another request, and a key is forgotten after 24 h.
func TestIdempotencyKey(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-idem", false) })
	if done := f.wait(t, f.create(t, f.body("idem", "web"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	vars := func(u lt.User, v string) lt.Response {
		return f.e.Call(u, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: map[string]string{"envKey": "idem"}, Headers: map[string]string{"Idempotency-Key": "k-1"},
			Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": v}}}})
	}
	first := vars(lt.Alice, "1")
	lt.Success(t, first)
	op := first.Body["operation_id"].(string)
	if again := vars(lt.Alice, "1"); again.Body["operation_id"] != op { // while it runs: not a 409
		t.Fatalf("replay while running: %s", again.Raw)
	}
	f.wait(t, op)
	if again := vars(lt.Alice, "1"); again.Body["operation_id"] != op {
		t.Fatalf("replay after it ended: %s", again.Raw)
	}
	lt.Failed(t, vars(lt.Alice, "3"), 422, "Idempotency-Key")
	// Bob's k-1 is not Alice's: his request is his own (and he may not change alice's project).
	lt.Failed(t, vars(lt.Bob, "1"), 403, "project")
	lt.Failed(t, f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: map[string][]string{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: map[string]string{"envKey": "idem"},
		Headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 129)}}), 400, "Idempotency-Key")
	// 24 hours on (TTL), the key starts a new operation.
	f.e.Deps.Store.Clock(func() time.Time { return time.Now().Add(25 * time.Hour) })
	next := vars(lt.Alice, "1")
	lt.Success(t, next)
	if next.Body["operation_id"] == op {
		t.Fatal("an expired Idempotency-Key answered with its old operation")
	}
	f.e.Deps.Store.Clock(nil)
	f.wait(t, next.Body["operation_id"].(string))
}

// An operation maintenance ended (its execution lost, here killed mid-create)
// frees its environment, and a task of its execution that still arrives
// changes nothing.
func TestEndedOperationTouchesNothing(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-lost", false) })
	op := f.create(t, f.body("lost", "web", "api"))
	_ = f.e.Deps.Workflow.Stop(context.Background(), environment.CreateMachine, op, "killed by the test")
	for _, at := range []time.Duration{2 * time.Minute, 5 * time.Minute} { // halted, then ended
		h := &maintenance.Handler{Store: f.e.Deps.Store, Workflow: f.e.Deps.Workflow, StartGrace: time.Minute, Drain: maintenance.Drain, Now: func() time.Time { return time.Now().Add(at) }}
		if rep, err := h.Run(context.Background()); err != nil || len(rep.Stopping)+len(rep.Ended) != 1 {
			t.Fatalf("maintenance %+v %v", rep, err)
		}
	}
	done := f.wait(t, op)
	if done["status"] != "failed" || !strings.Contains(fmt.Sprint(done["error"]), "not running") {
		t.Fatalf("lost operation %v", done)
	}
	e := f.record(t, "lost")
	before := f.applied(t, e.ID)
	in, _ := json.Marshal(envflow.Input{Task: "apply", EnvironmentID: e.ID, OperationID: op, Cursor: &envflow.Cursor{}})
	if _, err := envflow.Task(f.e.Deps)(context.Background(), in); err == nil || !strings.Contains(err.Error(), "has ended") {
		t.Fatalf("a task of an ended operation ran: %v", err)
	}
	if after := f.applied(t, e.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("applied set changed from %v to %v", before, after)
	}
	if done := f.del(t, "lost", true); done["status"] != "succeeded" {
		t.Fatalf("delete of the freed environment ended %v", done)
	}
}

// A task already running when maintenance halts its operation stops at
// its next round: no more objects are recorded or applied once it has.
func TestHaltStopsApplyMidway(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const ns = "shop-env-halt"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(ctx, ns, false) })
	items := "[" + strings.TrimSuffix(strings.Repeat("0,", 3000), ",") + "]"
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "many", "yaml": many,
		"variables": []map[string]any{{"key": "items", "type": "yaml", "value": "[0]"}, {"key": "version", "type": "string", "value": "0"}}}}))
	op := f.create(t, map[string]any{"env_key": "halt", "cluster_id": f.clusterID,
		"services": []map[string]any{{"service_name": "many", "variable_kvs": []map[string]any{{"key": "items", "value": items}}}}})
	e := f.record(t, "halt")
	for deadline := time.Now().Add(time.Minute); len(f.applied(t, e.ID)) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := f.e.Deps.Store.Halt(ctx, e.ID, op, "halted by the test"); err != nil {
		t.Fatal(err)
	}
	at := len(f.applied(t, e.ID))
	time.Sleep(3 * time.Second) // the task notices at its next round
	after := len(f.applied(t, e.ID))
	time.Sleep(2 * time.Second)
	if later := len(f.applied(t, e.ID)); later != after || after > at+2*64 || after >= 3000 {
		t.Fatalf("applied set: %d when halted, %d then, %d later (of 3000)", at, after, later)
	}
	cms, err := f.c.Typed.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "s-service=many"})
	if err != nil || len(cms.Items) > after {
		t.Fatalf("%d ConfigMaps applied past %d recorded: %v", len(cms.Items), after, err)
	}
	if got := f.record(t, "halt"); got.OperationID != op {
		t.Fatal("the environment was freed before maintenance ended the operation")
	}
}

// lostStart is a function that died between recording an operation and
// starting its execution: the start never reaches Step Functions.
type lostStart struct{ workflow.Runner }

func (lostStart) Start(context.Context, string, string, []byte) error { return nil }

// The request retried with its Idempotency-Key after such a crash answers
// with the recorded operation and starts its execution, which then runs.
func TestReplayResumesALostStart(t *testing.T) {
	f := setup(t)
	key := map[string]string{"Idempotency-Key": "create-lost-start"}
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	r := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("resumed", "web"), Headers: key})
	lt.Success(t, r)
	op := r.Body["operation_id"].(string)
	if running, _ := f.e.Deps.Workflow.Running(context.Background(), environment.CreateMachine, op); running {
		t.Fatal("the lost start started")
	}
	f.withWorkflow(t, f.e.Deps.Workflow)
	again := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("resumed", "web"), Headers: key})
	if again.Body["operation_id"] != op {
		t.Fatalf("replay answered %s", again.Raw)
	}
	if done := f.wait(t, op); done["status"] != "succeeded" {
		t.Fatalf("resumed create ended %v", done)
	}
}
