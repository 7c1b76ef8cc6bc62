package environment_test

import (
	"context"
	"fmt"
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

// operation waits for the update operation r started and checks how it
// ended and what its plan applied and pruned.
func (f fixture) operation(t *testing.T, r lt.Response, status, plan string) map[string]any {
	t.Helper()
	lt.Success(t, r)
	done := f.wait(t, r.Body["operation_id"].(string))
	if done["kind"] != "update" || done["status"] != status {
		t.Fatalf("operation %v, want %s", done, status)
	}
	if p := done["plan"].(map[string]any); fmt.Sprintf("apply %v prune %v", p["apply"], p["prune"]) != plan {
		t.Errorf("plan %v, want %s", p, plan)
	}
	return done
}

// Changing registry_id re-applies the pull secret and every service's
// imagePullSecrets as an update operation; clearing it prunes the secret.
func TestRegistryChangeReapplies(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-reg"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
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
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": bobs.Body["runtime_env_credential_id"]}}), 400, "registry_id")
	// The secret and both services (their imagePullSecrets) are applied.
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": regID}}), "succeeded", "apply 3 prune 0")
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

	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": ""}}), "succeeded", "apply 2 prune 1")
	if _, err := f.c.Get(t.Context(), "v1", "Secret", ns, "default-registry-secret"); err == nil {
		t.Fatal("the registry secret outlived its registry")
	}
	if got := f.pullSecrets(t, ns); len(got) != 0 {
		t.Fatalf("pull secrets after clearing: %v", got)
	}
	if got := f.applied(t, f.record(t, "reg").ID); fmt.Sprint(got) != "[ConfigMap/settings Deployment/api Deployment/web]" {
		t.Fatalf("applied set %v", got)
	}
}

// A value the apiserver refuses fails the operation with its words; the
// environment is failed with the value it was asked for, and the next
// change re-applies the whole environment, healing it.
func TestVariablesUpdateRefusedByCluster(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-refused"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	path := map[string]string{"envKey": "refused"}
	if done := f.wait(t, f.create(t, f.body("refused", "web", "api"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	set := func(v string) lt.Response {
		return f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": v}}}})
	}
	done := f.operation(t, set("-5"), "failed", "apply 2 prune 0")
	if !strings.Contains(fmt.Sprint(done["error"]), "replicas") {
		t.Fatalf("error %v does not give the apiserver's reason", done["error"])
	}
	d := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path})
	if d.Body["status"] != "failed" || !strings.Contains(fmt.Sprint(d.Body["reason"]), "replicas") {
		t.Fatalf("after a refused update: %s", d.Raw)
	}
	// Another variable, which no service uses: the failed environment is re-applied whole.
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "3"}, {"key": "unused", "value": "x"}}}}),
		"succeeded", "apply 3 prune 0")
	for _, name := range []string{"web", "api"} {
		dep, err := f.c.Typed.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil || *dep.Spec.Replicas != 3 {
			t.Fatalf("%s after the retry: %v %v", name, dep.Spec.Replicas, err)
		}
	}
	// Stored success; the live state may still be unstable while pods scale up.
	if d := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path}); d.Body["status"] != "success" && d.Body["status"] != "unstable" || d.Body["reason"] != nil {
		t.Fatalf("after retry: %s", d.Raw)
	}
}

// An update prunes what the services it re-renders no longer render, and
// only that: services not touched keep objects their templates dropped.
func TestUpdatePrunes(t *testing.T) {
	f := setup(t)
	const ns = "shop-env-prune"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	twoObjects := deployment + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: $Service$-extra}\ndata: {a: b}\n"
	for _, s := range []string{"web", "api"} {
		lt.Success(t, f.e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: pk(), Path: map[string]string{"serviceName": s}, Body: map[string]any{"yaml": twoObjects}}))
	}
	body := f.body("prune", "web", "api")
	body["services"].([]map[string]any)[1]["variable_kvs"] = []map[string]any{{"key": "replicas", "value": "1"}} // api: its own value
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	for _, s := range []string{"web", "api"} {
		lt.Success(t, f.e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: pk(), Path: map[string]string{"serviceName": s}, Body: map[string]any{"yaml": deployment}}))
	}
	// replicas is web's only: web re-renders without its extra ConfigMap.
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: map[string]string{"envKey": "prune"},
		Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}), "succeeded", "apply 1 prune 1")
	if got := f.envhubObjects(t, ns, "prune"); fmt.Sprint(got) != "[ConfigMap/api-extra ConfigMap/settings Deployment/api Deployment/web]" {
		t.Fatalf("objects after the update: %v", got)
	}
	if got := f.applied(t, f.record(t, "prune").ID); fmt.Sprint(got) != "[ConfigMap/api-extra ConfigMap/settings Deployment/api Deployment/web]" {
		t.Fatalf("applied set after the update: %v", got)
	}
}
