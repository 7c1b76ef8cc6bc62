package environment_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// revKey is an env key unique to the run: other tests share the cluster,
// and namespace names outlive a run that was cut short.
func revKey(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// revisions lists an environment's revisions (action ListRevisions or
// ListProductionRevisions) as "n:kind:change", newest first.
func (f fixture) revisions(t *testing.T, action, key string, q url.Values) (lt.Response, []string) {
	t.Helper()
	if q == nil {
		q = pk()
	}
	r := f.e.Call(lt.Alice, action, lt.Req{Query: q, Path: map[string]string{"envKey": key}})
	if r.Status != 200 {
		t.Fatalf("%s: %s", action, r.Raw)
	}
	var out []string
	for _, x := range r.Body["revisions"].([]any) {
		m := x.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v:%v", m["revision"], m["kind"], m["change"]))
	}
	return r, out
}

func (f fixture) webReplicas(t *testing.T, ns string) int32 {
	t.Helper()
	d, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func TestRevisions(t *testing.T) {
	f := setup(t)
	key := revKey("rev")
	ns := "shop-env-" + key
	path := func(n string) map[string]string { return map[string]string{"envKey": key, "n": n} }
	createOp := f.create(t, f.body(key, "web", "api"))
	if done := f.wait(t, createOp); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	r := f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path(""), Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "3"}}}})
	updateOp := r.Body["operation_id"]
	f.operation(t, r, "succeeded", "apply 2 prune 0")
	if n := f.webReplicas(t, ns); n != 3 {
		t.Fatalf("web has %d replicas after the update", n)
	}

	list, revs := f.revisions(t, "ListRevisions", key, nil)
	if list.Body["total"] != float64(2) || fmt.Sprint(revs) != "[2:update:global_variables 1:create:]" {
		t.Fatalf("revisions %s", list.Raw)
	}
	items := list.Body["revisions"].([]any)
	if items[0].(map[string]any)["operation_id"] != updateOp || items[1].(map[string]any)["operation_id"] != createOp || items[0].(map[string]any)["update_by"] != "alice" {
		t.Errorf("operation ids of the revisions: %s", list.Raw)
	}
	if _, page := f.revisions(t, "ListRevisions", key, url.Values{"projectKey": {"shop"}, "page_size": {"1"}, "page_number": {"2"}}); fmt.Sprint(page) != "[1:create:]" {
		t.Errorf("page 2 of 1: %v", page)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "ListRevisions", lt.Req{Query: url.Values{"projectKey": {"shop"}, "page_size": {"0"}}, Path: path("")}), 400, "page_size")
	if r, page := f.revisions(t, "ListRevisions", key, url.Values{"projectKey": {"shop"}, "page_size": {"20"}, "page_number": {"2"}}); len(page) != 0 || r.Body["total"] != float64(2) {
		t.Errorf("a page past the end: %s", r.Raw)
	}

	// Revision 2 changed both Deployments' replicas, nothing else.
	r = f.e.Call(lt.Bob, "GetRevision", lt.Req{Query: pk(), Path: path("2")}) // a public project's: bob may read it
	if r.Status != 200 || r.Body["revision"] != float64(2) || r.Body["operation_id"] != updateOp {
		t.Fatalf("revision 2: %s", r.Raw)
	}
	var changes []string
	for _, c := range r.Body["changes"].([]any) {
		m := c.(map[string]any)
		changes = append(changes, fmt.Sprintf("%v/%v %v", m["kind"], m["name"], m["change"]))
	}
	if fmt.Sprint(changes) != "[Deployment/api changed Deployment/web changed]" {
		t.Errorf("changes %v", changes)
	}
	diff, _ := r.Body["diff"].(string)
	if !strings.Contains(diff, "--- a/Deployment/web") || !strings.Contains(diff, "-  replicas: 2") || !strings.Contains(diff, "+  replicas: 3") || strings.Contains(diff, "ConfigMap") {
		t.Errorf("diff:\n%s", diff)
	}
	if fmt.Sprint(r.Body["global_variables"]) != "[map[key:replicas value:3]]" || len(r.Body["objects"].([]any)) != 3 || len(r.Body["services"].([]any)) != 2 {
		t.Errorf("revision 2 state: %s", r.Raw)
	}
	// Revision 1 added everything.
	r = f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: path("1")})
	if r.Status != 200 || len(r.Body["changes"].([]any)) != 3 || !strings.Contains(r.Body["diff"].(string), "+  replicas: 2") {
		t.Errorf("revision 1: %s", r.Raw)
	}
	for _, c := range r.Body["changes"].([]any) {
		if c.(map[string]any)["change"] != "added" {
			t.Errorf("revision 1 change %v", c)
		}
	}
	for n, want := range map[string]int{"3": 404, "99": 404, "0": 400, "x": 400, "-1": 400} {
		if r := f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: path(n)}); r.Status != want {
			t.Errorf("revision %s: %d %s", n, r.Status, r.Raw)
		}
		if r := f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: path(n)}); r.Status != want {
			t.Errorf("rollback to %s: %d %s", n, r.Status, r.Raw)
		}
	}
	lt.Failed(t, f.e.Call(lt.Alice, "GetProductionRevision", lt.Req{Query: pk(), Path: path("1")}), 404, key)
	lt.Failed(t, f.e.Call(lt.Bob, "RollbackRevision", lt.Req{Query: pk(), Path: path("1")}), 403, "project")

	// Rolling back to 1 re-applies its objects and makes its state the desired one.
	r = f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: path("1")})
	rollbackOp := r.Body["operation_id"]
	f.operation(t, r, "succeeded", "apply 3 prune 0") // a rollback re-applies every object
	if n := f.webReplicas(t, ns); n != 2 {
		t.Fatalf("web has %d replicas after the rollback", n)
	}
	if _, revs = f.revisions(t, "ListRevisions", key, nil); fmt.Sprint(revs) != "[3:update:rollback to revision 1 2:update:global_variables 1:create:]" {
		t.Fatalf("revisions after the rollback %v", revs)
	}
	d := f.e.Call(lt.Alice, "GetEnvironmentVariables", lt.Req{Query: pk(), Path: path("")})
	if !strings.Contains(d.Raw, `"key":"replicas","value":"2"`) {
		t.Errorf("variables after the rollback: %s", d.Raw)
	}
	r = f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: path("3")})
	if r.Body["operation_id"] != rollbackOp || !strings.Contains(r.Body["diff"].(string), "+  replicas: 2") {
		t.Errorf("revision 3: %s", r.Raw)
	}

	// A service added after a revision is pruned by rolling back to it.
	f.operation(t, f.e.Call(lt.Alice, "AddEnvironmentServices", lt.Req{Query: pk(), Body: map[string]any{"env_key": key,
		"service_list": []map[string]any{{"service_name": "worker"}}}}), "succeeded", "apply 1 prune 0")
	f.operation(t, f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: path("3")}), "succeeded", "apply 3 prune 1")
	if got := f.envhubObjects(t, ns, key); fmt.Sprint(got) != "[ConfigMap/settings Deployment/api Deployment/web]" {
		t.Errorf("objects after rolling back past an added service: %v", got)
	}
	if got := f.applied(t, f.record(t, key).ID); fmt.Sprint(got) != "[ConfigMap/settings Deployment/api Deployment/web]" {
		t.Errorf("applied set after the rollback: %v", got)
	}
	r = f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: path("5")})
	if !strings.Contains(r.Raw, `"kind":"Deployment","name":"worker","part":"service/worker","change":"removed"`) || len(r.Body["services"].([]any)) != 2 {
		t.Errorf("revision 5: %s", r.Raw)
	}

	// Once the project is private, bob sees none of it.
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
	lt.Failed(t, f.e.Call(lt.Bob, "ListRevisions", lt.Req{Query: pk(), Path: path("")}), 404, "shop")
	lt.Failed(t, f.e.Call(lt.Bob, "GetRevision", lt.Req{Query: pk(), Path: path("1")}), 404, "shop")
	lt.Failed(t, f.e.Call(lt.Bob, "RollbackRevision", lt.Req{Query: pk(), Path: path("1")}), 404, "shop")
}

// A revision shows Secret values only masked, never themselves; production
// environments list their revisions on their own routes.
func TestRevisionsMaskSecrets(t *testing.T) {
	f := setup(t)
	const marker = "hunter2-revision-secret"
	key := revKey("rsec")
	body := f.body(key, "web")
	// As copied from kubectl get -o yaml: kubectl's copy of the values rides along.
	body["env_configs"] = []map[string]any{{"common_env_cfg_type": "Secret", "yaml_data": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"stringData\":{\"password\":\"" + marker + "\"}}'\nstringData: {password: " + marker + "}\n"}}
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	r := f.e.Call(lt.Bob, "GetRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": "1"}})
	if r.Status != 200 || !strings.Contains(r.Raw, "password: '******'") && !strings.Contains(r.Raw, "password: \\\"******\\\"") {
		t.Fatalf("revision 1 does not mask the Secret: %s", r.Raw)
	}
	for _, leak := range []string{marker, base64.StdEncoding.EncodeToString([]byte(marker))} {
		if strings.Contains(r.Raw, leak) {
			t.Fatalf("revision 1 shows the secret: %s", r.Raw)
		}
	}
	if !strings.Contains(r.Raw, `"kind":"Secret","name":"db"`) {
		t.Errorf("the Secret is not among the objects: %s", r.Raw)
	}

	prod := revKey("rprod")
	pb := f.body(prod, "web")
	pb["env_name"] = "Production"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-"+prod, false) })
	cr := f.e.Call(lt.Alice, "CreateProductionEnvironment", lt.Req{Query: pk(), Body: pb})
	lt.Success(t, cr)
	if done := f.wait(t, cr.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("production create ended %v", done)
	}
	list, revs := f.revisions(t, "ListProductionRevisions", prod, nil)
	if list.Body["total"] != float64(1) || fmt.Sprint(revs) != "[1:create:]" || list.Body["revisions"].([]any)[0].(map[string]any)["operation_id"] != cr.Body["operation_id"] {
		t.Fatalf("production revisions %s", list.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "ListRevisions", lt.Req{Query: pk(), Path: map[string]string{"envKey": prod}}), 404, prod)
	lt.Failed(t, f.e.Call(lt.Alice, "ListProductionRevisions", lt.Req{Query: pk(), Path: map[string]string{"envKey": key}}), 404, key)
	if r := f.e.Call(lt.Bob, "GetProductionRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": prod, "n": "1"}}); r.Status != 200 || r.Body["revision"] != float64(1) {
		t.Errorf("production revision 1: %s", r.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Bob, "RollbackProductionRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": prod, "n": "1"}}), 403, "project")
}

// A rollback to a registry credential since deleted, or to a service whose
// template is gone, is 409: the environment could not change again after.
func TestRollbackRefusesWhatIsGone(t *testing.T) {
	f := setup(t)
	key := revKey("rb")
	ns := "shop-env-" + key
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	reg := f.e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"server": "registry.example.com", "username": "u", "password": "p"}}})
	lt.OK(t, reg)
	regID := reg.Body["runtime_env_credential_id"].(string)
	body := f.body(key, "web")
	body["registry_id"] = regID
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	path := map[string]string{"envKey": key}
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": ""}}), "succeeded", "apply 1 prune 1")
	lt.OK(t, f.e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": regID}}))
	rollback := func() lt.Response {
		return f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": "1"}})
	}
	lt.Failed(t, rollback(), 409, regID)
	// Back to revision 2 (no registry), then the template goes: revision 2 holds web.
	lt.Success(t, f.e.Call(lt.Alice, "DeleteServiceTemplate", lt.Req{Query: url.Values{"projectKey": {"shop"}, "force": {"true"}}, Path: map[string]string{"serviceName": "web"}}))
	lt.Failed(t, f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": "2"}}), 409, "web")
	if _, revs := f.revisions(t, "ListRevisions", key, nil); len(revs) != 2 {
		t.Fatalf("revisions after refused rollbacks: %v", revs)
	}
}
