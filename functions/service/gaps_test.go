package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envhub/envhub/functions/service"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/workflow"
)

// gapLostStart records operations but never starts their executions: the
// environment stays busy until the request is replayed.
type gapLostStart struct{ workflow.Runner }

func (gapLostStart) Start(context.Context, string, string, []byte) error { return nil }

// withWorkflow serves the service function with another workflow runner.
func (f *envFix) withWorkflow(t *testing.T, w workflow.Runner) {
	t.Helper()
	ops := operation.New(f.e.Deps)
	ops.Workflow = w
	router, err := api.Mount("service", (&service.Handler{Store: f.e.Deps.Store, Ops: ops}).Actions())
	if err != nil {
		t.Fatal(err)
	}
	f.e.Fns["service"] = httpadapter.NewV2(router)
}

// record reads an environment of the fixture's project from the store.
func (f *envFix) record(t *testing.T, key string) *model.Environment {
	t.Helper()
	p, err := f.e.Deps.Store.ProjectByKey(t.Context(), f.project)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.e.Deps.Store.EnvironmentByKey(t.Context(), p.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// snapshot is what a refused request must leave as it was: the stored
// version, the running operation, the services and the revisions listed.
func (f *envFix) snapshot(t *testing.T, prod bool, key string) string {
	t.Helper()
	get, list := "GetEnvironment", "ListRevisions"
	if prod {
		get, list = "GetProductionEnvironment", "ListProductionRevisions"
	}
	e := f.record(t, key)
	r := f.e.Call(lt.Alice, list, lt.Req{Query: f.q(), Path: map[string]string{"envKey": key}})
	if r.Status != 200 {
		t.Fatalf("%s: %s", list, r.Raw)
	}
	return fmt.Sprintf("version %d operation %q services %v revisions %s", e.Version, e.OperationID, f.services(t, get, key), r.Raw)
}

// busy starts a change (UpdateEnvironmentServices or its production twin:
// web to the replicas given) whose execution never starts, and returns a
// replay of it, which starts it.
func (f *envFix) busy(t *testing.T, action, key, replicas string) (string, func() lt.Response) {
	t.Helper()
	call := func() lt.Response {
		return f.e.Call(lt.Alice, action, lt.Req{Query: f.q(), Path: map[string]string{"envKey": key},
			Body: map[string]any{"service_list": []any{svc("web", "replicas", replicas)}}, Headers: map[string]string{"Idempotency-Key": "busy-" + key}})
	}
	f.withWorkflow(t, gapLostStart{f.e.Deps.Workflow})
	r := call()
	lt.Success(t, r)
	f.withWorkflow(t, f.e.Deps.Workflow)
	return r.Body["operation_id"].(string), call
}

// A busy environment takes no other change of its services (409 naming the
// running operation), and the refusal changes nothing.
func TestGapBusyServices(t *testing.T) {
	f := newEnvFix(t, "gbusy", "public")
	f.template(t, "web", deploy)
	f.template(t, "api", deploy)
	for _, c := range []struct {
		prod                 bool
		create, get, key     string
		busyAction, add, del string
		wantReplicas         string
	}{
		{false, "CreateEnvironment", "GetEnvironment", "dev", "UpdateEnvironmentServices", "AddEnvironmentServices", "DeleteEnvironmentServices", "2"},
		{true, "CreateProductionEnvironment", "GetProductionEnvironment", "prod", "UpdateProductionEnvironmentServices", "AddProductionEnvironmentServices", "DeleteProductionEnvironmentServices", "3"},
	} {
		t.Run(c.key, func(t *testing.T) {
			f.create(t, c.create, map[string]any{"env_key": c.key, "services": []any{svc("web")}})
			op, replay := f.busy(t, c.busyAction, c.key, c.wantReplicas)
			before := f.snapshot(t, c.prod, c.key)
			lt.Failed(t, f.e.Call(lt.Alice, c.add, lt.Req{Query: f.q(), Body: map[string]any{"env_key": c.key, "service_list": []any{svc("api")}}}), 409, op)
			lt.Failed(t, f.e.Call(lt.Alice, c.del, lt.Req{Query: f.q(), Body: map[string]any{"env_key": c.key, "service_names": []string{"web"}}}), 409, op)
			if after := f.snapshot(t, c.prod, c.key); after != before {
				t.Fatalf("a refused change changed the environment:\n%s\n->\n%s", before, after)
			}
			// The busy change, replayed, runs; the refused ones never do.
			again := replay()
			if again.Body["operation_id"] != op {
				t.Fatalf("replay answered %s", again.Raw)
			}
			f.done(t, again, "succeeded")
			if got := f.services(t, c.get, c.key); fmt.Sprint(got) != "[web]" {
				t.Errorf("services %v, want [web]", got)
			}
			if n, _ := f.deployment(t, f.ns(c.key), "api"); n != -1 {
				t.Error("the refused add applied api")
			}
			if n, _ := f.deployment(t, f.ns(c.key), "web"); fmt.Sprint(n) != c.wantReplicas {
				t.Errorf("web has %d replicas, want %s", n, c.wantReplicas)
			}
		})
	}
}

// The production routes show, update and delete a production
// environment's services on the cluster.
func TestGapProductionServices(t *testing.T) {
	f := newEnvFix(t, "gprod", "public")
	f.template(t, "web", deploy)
	f.template(t, "api", deploy)
	f.create(t, "CreateProductionEnvironment", map[string]any{"env_key": "prod", "env_name": "Production", "services": []any{svc("web", "replicas", "2"), svc("api")}})
	ns := f.ns("prod")
	path := map[string]string{"envKey": "prod", "serviceName": "web"}

	// The detail shows web's pods once they run.
	var r lt.Response
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		r = f.e.Call(lt.Alice, "GetProductionEnvironmentService", lt.Req{Query: f.q(), Path: path})
		if r.Status != 200 {
			t.Fatalf("production detail: %s", r.Raw)
		}
		running := 0
		if scales, _ := r.Body["scales"].([]any); len(scales) == 1 {
			for _, p := range scales[0].(map[string]any)["pods"].([]any) {
				if p.(map[string]any)["status"] == "Running" {
					running++
				}
			}
		}
		if running == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web's pods not running: %s", r.Raw)
		}
	}
	sc := r.Body["scales"].([]any)[0].(map[string]any)
	if r.Body["service_name"] != "web" || r.Body["namespace"] != ns || r.Body["env_name"] != "Production" || sc["name"] != "web" || sc["replicas"] != float64(2) {
		t.Errorf("production detail: %s", r.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "GetProductionEnvironmentService", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "prod", "serviceName": "nope"}}), 404, "nope")

	// Updated: web's Deployment scales on the cluster, api is not touched.
	_, apiVersion := f.deployment(t, ns, "api")
	done := f.done(t, f.e.Call(lt.Alice, "UpdateProductionEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "prod"},
		Body: map[string]any{"service_list": []any{svc("web", "replicas", "4")}}}), "succeeded")
	if planOf(done) != "apply 1 prune 0" {
		t.Errorf("update plan %v", done["plan"])
	}
	if n, _ := f.deployment(t, ns, "web"); n != 4 {
		t.Fatalf("production web has %d replicas after the update, want 4", n)
	}
	if n, v := f.deployment(t, ns, "api"); n != 1 || v != apiVersion {
		t.Errorf("api was touched: %d replicas, resourceVersion %s -> %s", n, apiVersion, v)
	}
	if d := f.e.Call(lt.Alice, "GetProductionEnvironment", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "prod"}}); !strings.Contains(d.Raw, `{"key":"replicas","value":"4"`) {
		t.Errorf("production detail after the update: %s", d.Raw)
	}

	// Deleted: api goes from the environment and the namespace, web stays.
	_, webVersion := f.deployment(t, ns, "web")
	done = f.done(t, f.e.Call(lt.Alice, "DeleteProductionEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "prod", "service_names": []string{"api"}}}), "succeeded")
	if planOf(done) != "apply 0 prune 1" {
		t.Errorf("delete plan %v", done["plan"])
	}
	if n, _ := f.deployment(t, ns, "api"); n != -1 {
		t.Error("api is still in the production namespace")
	}
	if n, v := f.deployment(t, ns, "web"); n != 4 || v != webVersion {
		t.Errorf("web was touched by api's delete: %d replicas, resourceVersion %s -> %s", n, webVersion, v)
	}
	if got := f.services(t, "GetProductionEnvironment", "prod"); fmt.Sprint(got) != "[web]" {
		t.Errorf("production services after the delete: %v", got)
	}
}

// Once the project is private, bob can neither update nor delete the
// services of its environments: to him it does not exist (404).
func TestGapPrivateProjectServices(t *testing.T) {
	f := newEnvFix(t, "gpriv", "private")
	f.template(t, "web", deploy)
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web")}})
	before := f.snapshot(t, false, "dev")
	lt.Failed(t, f.e.Call(lt.Bob, "UpdateEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"},
		Body: map[string]any{"service_list": []any{svc("web", "replicas", "2")}}}), 404, f.project)
	lt.Failed(t, f.e.Call(lt.Bob, "DeleteEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "dev", "service_names": []string{"web"}}}), 404, f.project)
	if after := f.snapshot(t, false, "dev"); after != before {
		t.Fatalf("bob changed a private project's environment:\n%s\n->\n%s", before, after)
	}
	if n, _ := f.deployment(t, f.ns("dev"), "web"); n != 1 {
		t.Errorf("web has %d replicas", n)
	}
}

// Bad update and delete bodies are refused (400, or 404 for an unknown
// environment) before anything changes.
func TestGapServicesBadInput(t *testing.T) {
	f := newEnvFix(t, "gbad", "public")
	// web's image is an enum: a value outside its options is refused.
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: f.q(), Body: map[string]any{"service_name": "web", "yaml": tpl, "variables": tplVars}}))
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web")}})
	ns := f.ns("dev")
	_, webVersion := f.deployment(t, ns, "web")
	before := f.snapshot(t, false, "dev")
	const upd, del = "UpdateEnvironmentServices", "DeleteEnvironmentServices"
	list := func(ss ...any) map[string]any { return map[string]any{"service_list": ss} }
	for name, c := range map[string]struct {
		action, key string // key: the update's path
		body        any
		status      int
		says        string
	}{
		"update: duplicate names":   {upd, "dev", list(svc("web"), svc("web")), 400, "listed twice"},
		"update: bad service name":  {upd, "dev", list(svc("Web_1")), 400, "service_name"},
		"update: unknown field":     {upd, "dev", map[string]any{"service_list": []any{svc("web")}, "colour": 1}, 400, "colour"},
		"update: unknown env":       {upd, "gone", list(svc("web")), 404, "gone"},
		"update: enum value":        {upd, "dev", list(svc("web", "image", "nginx:9.9")), 400, "image"},
		"update: bad env key":       {upd, "Dev_1", list(svc("web")), 400, "envKey"},
		"delete: missing env_key":   {del, "", map[string]any{"service_names": []string{"web"}}, 400, "env_key"},
		"delete: unknown env":       {del, "", map[string]any{"env_key": "gone", "service_names": []string{"web"}}, 404, "gone"},
		"delete: unknown field":     {del, "", map[string]any{"env_key": "dev", "service_names": []string{"web"}, "colour": 1}, 400, "colour"},
		"delete: service_names str": {del, "", map[string]any{"env_key": "dev", "service_names": "web"}, 400, "service_names"},
	} {
		t.Run(name, func(t *testing.T) {
			r := lt.Req{Query: f.q(), Body: c.body}
			if c.key != "" {
				r.Path = map[string]string{"envKey": c.key}
			}
			lt.Failed(t, f.e.Call(lt.Alice, c.action, r), c.status, c.says)
		})
	}
	if after := f.snapshot(t, false, "dev"); after != before {
		t.Fatalf("a refused request changed the environment:\n%s\n->\n%s", before, after)
	}
	if n, v := f.deployment(t, ns, "web"); n != 1 || v != webVersion {
		t.Errorf("web was touched: %d replicas, resourceVersion %s -> %s", n, webVersion, v)
	}
	if d, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{}); err != nil || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Errorf("web's image after refused updates: %v %v", d, err)
	}
}
