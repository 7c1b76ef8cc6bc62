package service_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
)

// deploy is one Deployment whose replicas come from a variable (default 1).
const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: $Service$}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
`

// withExtra also renders a ConfigMap, which a later template may drop.
const withExtra = deploy + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: $Service$-extra}\ndata: {a: b}\n"

var replicasVar = []map[string]any{{"key": "replicas", "value": "1", "type": "string"}}

// envFix is a project of alice's (its key unique per run, so tests share
// the cluster with others) on the local cluster registered as a runtime env.
type envFix struct {
	e         *lt.Env
	c         *cluster.Cluster
	clusterID string
	project   string
}

// uniq is prefix with a random suffix: a DNS label without "env".
func uniq(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func newEnvFix(t *testing.T, prefix, visibility string) *envFix {
	t.Helper()
	e := lt.New(t)
	id, c := e.LocalRuntimeEnv(t)
	f := &envFix{e: e, c: c, clusterID: id, project: uniq(prefix)}
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": f.project, "visibility": visibility}}))
	return f
}

func (f *envFix) q() url.Values { return pk(f.project) }

func (f *envFix) ns(envKey string) string { return f.project + "-env-" + envKey }

func (f *envFix) template(t *testing.T, name, yaml string) {
	t.Helper()
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: f.q(), Body: map[string]any{"service_name": name, "yaml": yaml, "variables": replicasVar}}))
}

// svc is a service of a request body; kv pairs are variable settings, a
// value of "$global" meaning use_global_variable.
func svc(name string, kv ...string) map[string]any {
	vars := []map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "$global" {
			vars = append(vars, map[string]any{"key": kv[i], "use_global_variable": true})
		} else {
			vars = append(vars, map[string]any{"key": kv[i], "value": kv[i+1]})
		}
	}
	return map[string]any{"service_name": name, "variable_kvs": vars}
}

// create creates an environment (CreateEnvironment or
// CreateProductionEnvironment) with body on the fixture's cluster and
// waits for it to succeed; its namespace goes when the test ends.
func (f *envFix) create(t *testing.T, action string, body map[string]any) {
	t.Helper()
	body["cluster_id"] = f.clusterID
	ns := f.ns(body["env_key"].(string))
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	f.done(t, f.e.Call(lt.Alice, action, lt.Req{Query: f.q(), Body: body}), "succeeded")
}

// done waits for the operation r started and checks how it ended.
func (f *envFix) done(t *testing.T, r lt.Response, status string) map[string]any {
	t.Helper()
	lt.Success(t, r)
	op := r.Body["operation_id"].(string)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		got := f.e.Call(lt.Alice, "GetOperation", lt.Req{Path: map[string]string{"operation_id": op}})
		if got.Status != 200 {
			t.Fatalf("operation %s: %s", op, got.Raw)
		}
		if got.Body["status"] != "running" {
			if got.Body["status"] != status {
				t.Fatalf("operation %s ended %v, want %s", op, got.Body, status)
			}
			return got.Body
		}
	}
	t.Fatalf("operation %s still running", op)
	return nil
}

// services lists the services the environment's detail shows, sorted.
func (f *envFix) services(t *testing.T, action, envKey string) []string {
	t.Helper()
	r := f.e.Call(lt.Alice, action, lt.Req{Query: f.q(), Path: map[string]string{"envKey": envKey}})
	if r.Status != 200 {
		t.Fatalf("%s %s: %s", action, envKey, r.Raw)
	}
	var out []string
	for _, s := range r.Body["services"].([]any) {
		out = append(out, s.(map[string]any)["service_name"].(string))
	}
	slices.Sort(out)
	return out
}

// deployment reads a Deployment: its replicas and resourceVersion ("" and
// -1 when it does not exist).
func (f *envFix) deployment(t *testing.T, ns, name string) (int32, string) {
	t.Helper()
	d, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return -1, ""
		}
		t.Fatal(err)
	}
	return *d.Spec.Replicas, d.ResourceVersion
}

func planOf(op map[string]any) string {
	p, _ := op["plan"].(map[string]any)
	return fmt.Sprintf("apply %v prune %v", p["apply"], p["prune"])
}

func TestAddEnvironmentServices(t *testing.T) {
	f := newEnvFix(t, "add", "public")
	for _, s := range []string{"web", "api", "worker", "extra"} {
		f.template(t, s, deploy)
	}
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web", "replicas", "$global")},
		"global_variables": []map[string]any{{"key": "replicas", "value": "3"}}})
	ns := f.ns("dev")
	add := func(u lt.User, body any) lt.Response {
		return f.e.Call(u, "AddEnvironmentServices", lt.Req{Query: f.q(), Body: body})
	}
	list := func(ss ...any) map[string]any { return map[string]any{"env_key": "dev", "service_list": ss} }
	before := f.e.Call(lt.Alice, "ListRevisions", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"}}).Raw

	for name, c := range map[string]struct {
		body   any
		status int
		says   string
	}{
		"empty service_list":     {list(), 400, "service_list"},
		"no service_list":        {map[string]any{"env_key": "dev"}, 400, "service_list"},
		"duplicate names":        {list(svc("api"), svc("api")), 400, "listed twice"},
		"bad name":               {list(svc("Api_1")), 400, "service_name"},
		"duplicate variable key": {list(svc("api", "replicas", "1", "replicas", "2")), 400, "variable_kvs"},
		"empty variable key":     {list(svc("api", "", "1")), 400, "variable_kvs"},
		"unknown variable key":   {list(svc("api", "nope", "1")), 400, "nope"},
		"bad variable value":     {list(svc("api", "replicas", "x: [")), 400, "api"},
		"unknown template":       {list(svc("nope")), 400, "nope"},
		"missing env_key":        {map[string]any{"service_list": []any{svc("api")}}, 400, "env_key"},
		"unknown environment":    {map[string]any{"env_key": "gone", "service_list": []any{svc("api")}}, 404, "gone"},
		"already in the env":     {list(svc("api"), svc("web")), 409, "web"},
		"unknown field":          {map[string]any{"env_key": "dev", "service_list": []any{svc("api")}, "colour": 1}, 400, "colour"},
	} {
		t.Run(name, func(t *testing.T) { lt.Failed(t, add(lt.Alice, c.body), c.status, c.says) })
	}
	t.Run("bob on a public project", func(t *testing.T) { lt.Failed(t, add(lt.Bob, list(svc("api"))), 403, "project") })
	// Nothing refused changed the environment: same services, no new revision, nothing applied.
	if got := f.services(t, "GetEnvironment", "dev"); fmt.Sprint(got) != "[web]" {
		t.Fatalf("services after refused adds: %v", got)
	}
	if after := f.e.Call(lt.Alice, "ListRevisions", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"}}).Raw; after != before {
		t.Fatalf("revisions changed: %s -> %s", before, after)
	}
	if n, _ := f.deployment(t, ns, "api"); n != -1 {
		t.Fatal("a refused add applied api")
	}
	_, webVersion := f.deployment(t, ns, "web")

	// api takes the template's default, worker the env's global.
	done := f.done(t, add(lt.Alice, list(svc("api"), svc("worker", "replicas", "$global"))), "succeeded")
	if done["kind"] != "update" || planOf(done) != "apply 2 prune 0" {
		t.Errorf("add operation %v", done)
	}
	for name, want := range map[string]int32{"api": 1, "worker": 3, "web": 3} {
		if n, _ := f.deployment(t, ns, name); n != want {
			t.Errorf("%s has %d replicas, want %d", name, n, want)
		}
	}
	if _, v := f.deployment(t, ns, "web"); v != webVersion {
		t.Errorf("web was re-applied by adding others: %s -> %s", webVersion, v)
	}
	if got := f.services(t, "GetEnvironment", "dev"); fmt.Sprint(got) != "[api web worker]" {
		t.Fatalf("services after the add: %v", got)
	}
	lt.Failed(t, add(lt.Alice, list(svc("api"))), 409, "api")

	// A change while another runs is refused, naming the running one.
	first := add(lt.Alice, list(svc("extra")))
	lt.Success(t, first)
	second := f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"}, Body: map[string]any{"service_list": []any{svc("api", "replicas", "2")}}})
	lt.Failed(t, second, 409, first.Body["operation_id"].(string))
	f.done(t, first, "succeeded")

	// Production environments have their own route; each refuses the other's.
	f.create(t, "CreateProductionEnvironment", map[string]any{"env_key": "prod", "env_name": "Production"})
	lt.Failed(t, add(lt.Alice, map[string]any{"env_key": "prod", "service_list": []any{svc("web")}}), 404, "prod")
	lt.Failed(t, f.e.Call(lt.Alice, "AddProductionEnvironmentServices", lt.Req{Query: f.q(), Body: list(svc("api"))}), 404, "dev")
	f.done(t, f.e.Call(lt.Alice, "AddProductionEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "prod", "service_list": []any{svc("web", "replicas", "2")}}}), "succeeded")
	if n, _ := f.deployment(t, f.ns("prod"), "web"); n != 2 {
		t.Errorf("production web has %d replicas", n)
	}
	if got := f.services(t, "GetProductionEnvironment", "prod"); fmt.Sprint(got) != "[web]" {
		t.Errorf("production services %v", got)
	}

	// Once the project is private, bob learns nothing of it.
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: f.q(), Body: map[string]any{"visibility": "private"}}))
	lt.Failed(t, add(lt.Bob, list(svc("api"))), 404, f.project)
}

func TestUpdateEnvironmentServices(t *testing.T) {
	f := newEnvFix(t, "upd", "public")
	f.template(t, "web", deploy)
	f.template(t, "api", withExtra)
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web", "replicas", "1"), svc("api", "replicas", "1")}})
	ns := f.ns("dev")
	update := func(u lt.User, ss ...any) lt.Response {
		return f.e.Call(u, "UpdateEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"}, Body: map[string]any{"service_list": ss}})
	}
	_, webVersion := f.deployment(t, ns, "web")

	lt.Failed(t, update(lt.Alice, svc("api"), svc("nope"), svc("gone")), 400, "[gone nope]")
	lt.Failed(t, update(lt.Alice), 400, "service_list")
	lt.Failed(t, update(lt.Alice, svc("api", "nope", "1")), 400, "nope")
	lt.Failed(t, update(lt.Bob, svc("api", "replicas", "2")), 403, "project")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateProductionEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"},
		Body: map[string]any{"service_list": []any{svc("api")}}}), 404, "dev")

	// A new value re-renders api only.
	if done := f.done(t, update(lt.Alice, svc("api", "replicas", "2")), "succeeded"); planOf(done) != "apply 2 prune 0" { // api's Deployment and ConfigMap
		t.Errorf("update plan %v", done["plan"])
	}
	if n, _ := f.deployment(t, ns, "api"); n != 2 {
		t.Fatalf("api has %d replicas after the update", n)
	}
	if n, v := f.deployment(t, ns, "web"); n != 1 || v != webVersion {
		t.Fatalf("web was touched: %d replicas, resourceVersion %s -> %s", n, webVersion, v)
	}
	r := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"}})
	if !strings.Contains(r.Raw, `"service_name":"api"`) || !strings.Contains(r.Raw, `{"key":"replicas","value":"2"`) {
		t.Errorf("detail after the update: %s", r.Raw)
	}
	if _, err := f.c.Typed.CoreV1().ConfigMaps(ns).Get(t.Context(), "api-extra", metav1.GetOptions{}); err != nil {
		t.Fatalf("api-extra: %v", err)
	}

	// The template drops its ConfigMap: re-rendering api prunes it, and
	// keeps the value set before (settings not listed stay).
	lt.Success(t, f.e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: f.q(), Path: map[string]string{"serviceName": "api"}, Body: map[string]any{"yaml": deploy}}))
	done := f.done(t, update(lt.Alice, svc("api")), "succeeded")
	if planOf(done) != "apply 1 prune 1" {
		t.Errorf("plan %v, want api's Deployment applied and its ConfigMap pruned", done["plan"])
	}
	if _, err := f.c.Typed.CoreV1().ConfigMaps(ns).Get(t.Context(), "api-extra", metav1.GetOptions{}); err == nil {
		t.Fatal("api-extra outlived its template")
	}
	if n, _ := f.deployment(t, ns, "api"); n != 2 {
		t.Errorf("api has %d replicas, want the 2 set before", n)
	}
	if _, v := f.deployment(t, ns, "web"); v != webVersion {
		t.Errorf("web was touched by api's update")
	}
}

func TestDeleteEnvironmentServices(t *testing.T) {
	f := newEnvFix(t, "del", "public")
	for _, s := range []string{"web", "api", "worker"} {
		f.template(t, s, deploy)
	}
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web"), svc("api"), svc("worker")}})
	ns := f.ns("dev")
	del := func(u lt.User, names ...string) lt.Response {
		return f.e.Call(u, "DeleteEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "dev", "service_names": names}})
	}
	lt.Failed(t, del(lt.Alice, "web", "nope", "gone"), 400, "[gone nope]")
	lt.Failed(t, del(lt.Alice), 400, "service_names")
	lt.Failed(t, del(lt.Alice, "web", "web"), 400, "listed twice")
	lt.Failed(t, del(lt.Alice, "Web"), 400, "service_names")
	lt.Failed(t, del(lt.Bob, "web"), 403, "project")
	lt.Failed(t, f.e.Call(lt.Alice, "DeleteProductionEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "dev", "service_names": []string{"web"}}}), 404, "dev")
	if got := f.services(t, "GetEnvironment", "dev"); fmt.Sprint(got) != "[api web worker]" {
		t.Fatalf("services after refused deletes: %v", got)
	}
	for _, s := range []string{"web", "api", "worker"} {
		if n, _ := f.deployment(t, ns, s); n != 1 {
			t.Fatalf("%s after refused deletes: %d replicas", s, n)
		}
	}
	_, webVersion := f.deployment(t, ns, "web")

	done := f.done(t, del(lt.Alice, "api", "worker"), "succeeded")
	if planOf(done) != "apply 0 prune 2" {
		t.Errorf("delete operation plan %v", done["plan"])
	}
	for _, s := range []string{"api", "worker"} {
		if n, _ := f.deployment(t, ns, s); n != -1 {
			t.Errorf("%s is still in the namespace", s)
		}
	}
	if n, v := f.deployment(t, ns, "web"); n != 1 || v != webVersion {
		t.Errorf("web was touched: %d replicas, resourceVersion %s -> %s", n, webVersion, v)
	}
	if got := f.services(t, "GetEnvironment", "dev"); fmt.Sprint(got) != "[web]" {
		t.Fatalf("services after the delete: %v", got)
	}
	lt.Failed(t, del(lt.Alice, "api"), 400, "api")
}
