package environment_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// pullSecrets is what the web deployment's pods pull with.
func (f fixture) pullSecrets(t *testing.T, ns string) []string {
	t.Helper()
	d, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, s := range d.Spec.Template.Spec.ImagePullSecrets {
		out = append(out, s.Name)
	}
	return out
}

// operation reads an update's operation record and checks how it ended.
func (f fixture) operation(t *testing.T, r lt.Response, status string, steps ...string) {
	t.Helper()
	lt.Success(t, r)
	id, _ := r.Body["operation_id"].(string)
	op := f.e.Call(lt.Alice, "GetOperation", lt.Req{Path: map[string]string{"operation_id": id}})
	if op.Status != 200 || op.Body["kind"] != "update" || op.Body["status"] != status {
		t.Fatalf("operation %s", op.Raw)
	}
	for _, s := range steps {
		if !strings.Contains(fmt.Sprint(op.Body["steps"]), s) {
			t.Errorf("step %s missing from %v", s, op.Body["steps"])
		}
	}
}

// Changing registry_id re-applies the pull secret and every service's
// imagePullSecrets as an update operation; clearing it removes both.
func TestRegistryChangeReapplies(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-reg"
	path := map[string]string{"envKey": "reg"}
	if done := f.wait(t, f.create(t, f.body("reg", "web", "api"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	if got := f.pullSecrets(t, ns); len(got) != 0 {
		t.Fatalf("pull secrets before a registry: %v", got)
	}
	reg := f.e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"server": "registry.example.com", "username": "u", "password": "p"}}})
	lt.OK(t, reg)
	regID := reg.Body["runtime_env_credential_id"].(string)
	bobs := f.e.Call(lt.Bob, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"server": "registry.example.com", "username": "b", "password": "p"}}})
	lt.OK(t, bobs)

	// Someone else's credential is refused before anything changes.
	r := f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": bobs.Body["runtime_env_credential_id"]}})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("another's registry: %d %s", r.Status, r.Raw)
	}
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": regID}}),
		"succeeded", "registry", "services", "succeed")
	if _, err := f.c.Get(t.Context(), "v1", "Secret", ns, "default-registry-secret"); err != nil {
		t.Fatalf("registry secret: %v", err)
	}
	if got := f.pullSecrets(t, ns); len(got) != 1 || got[0] != "default-registry-secret" {
		t.Fatalf("pull secrets %v", got)
	}
	d := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path})
	if d.Body["registry_id"] != regID || d.Body["status"] != "success" && d.Body["status"] != "unstable" || d.Body["reason"] != nil { // unstable: pods roll
		t.Fatalf("detail %s", d.Raw)
	}

	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": ""}}), "succeeded")
	if _, err := f.c.Get(t.Context(), "v1", "Secret", ns, "default-registry-secret"); err == nil {
		t.Fatal("the registry secret outlived its registry")
	}
	if got := f.pullSecrets(t, ns); len(got) != 0 {
		t.Fatalf("pull secrets after clearing: %v", got)
	}
	_ = f.c.DeleteNamespace(t.Context(), ns, false)
}

// A global variable the apiserver refuses leaves the environment failed
// with the reason and its old values, so the request can be retried.
func TestVariablesUpdateRefusedByCluster(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-bad"
	path := map[string]string{"envKey": "bad"}
	if done := f.wait(t, f.create(t, f.body("bad", "web"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	set := func(v string) lt.Response {
		return f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": v}}}})
	}
	r := set("-5")
	if r.Status != 400 || !strings.Contains(r.Raw, "replicas") {
		t.Fatalf("negative replicas: %d %s", r.Status, r.Raw)
	}
	d := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path})
	if d.Body["status"] != "failed" || !strings.Contains(fmt.Sprint(d.Body["reason"]), "replicas") {
		t.Fatalf("after a refused update: %s", d.Raw)
	}
	if g := d.Body["global_variables"].([]any)[0].(map[string]any); g["value"] != "2" {
		t.Fatalf("a refused value was stored: %v", g)
	}
	f.operation(t, set("3"), "succeeded", "services", "succeed")
	dep, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), "web", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 3 {
		t.Fatalf("web after retry: %v %v", dep.Spec.Replicas, err)
	}
	// Stored success; the live state may still be unstable while pods scale up.
	if d := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path}); d.Body["status"] != "success" && d.Body["status"] != "unstable" || d.Body["reason"] != nil {
		t.Fatalf("after retry: %s", d.Raw)
	}
	_ = f.c.DeleteNamespace(t.Context(), ns, false)
}

// A cluster keeps its credential while environments live on it: detaching
// it would leave them impossible to operate or delete.
func TestClusterInUseKeepsItsCredential(t *testing.T) {
	f := setup(t)
	env, err := f.e.Deps.Store.GetRuntimeEnv(t.Context(), f.clusterID)
	if err != nil {
		t.Fatal(err)
	}
	detach := func() lt.Response {
		return f.e.Call(lt.Admin, "DetachCredentialFromRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": f.clusterID, "runtime_env_credential_id": env.CredentialID}})
	}
	if done := f.wait(t, f.create(t, f.body("inuse", "web"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	if r := detach(); r.Status != 409 || !strings.Contains(r.Raw, "serves environments") {
		t.Fatalf("detach under an environment: %d %s", r.Status, r.Raw)
	}
	r := f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: map[string]string{"envKey": "inuse"}})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("delete ended %v", done)
	}
	lt.OK(t, detach())
	// Without a credential the cluster takes no new environment.
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("later", "web")}), 400, "no credential attached")
}
