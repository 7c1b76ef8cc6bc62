package environment_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/store"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A cluster keeps its credential while environments live on it: detaching
// it, or deleting the runtime env, would leave them impossible to operate
// or delete. The 409 names them.
func TestClusterInUseKeepsItsCredential(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-inuse", false) })
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
	// Who may not delete the runtime env learns nothing of what lives there.
	if r := f.e.Call(lt.Bob, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": f.clusterID}}); r.Status != 403 || strings.Contains(r.Raw, "inuse") {
		t.Fatalf("bob deleting the admin's runtime env: %d %s", r.Status, r.Raw)
	}
	for name, r := range map[string]lt.Response{
		"detach": detach(),
		"delete": f.e.Call(lt.Admin, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": f.clusterID}}),
	} {
		if r.Status != 409 || !strings.Contains(r.Raw, "serves environments [shop/inuse]") {
			t.Fatalf("%s under an environment: %d %s", name, r.Status, r.Raw)
		}
	}
	if done := f.del(t, "inuse", true); done["status"] != "succeeded" {
		t.Fatalf("delete ended %v", done)
	}
	lt.OK(t, detach())
	// Without a credential the cluster takes no new environment.
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body("later", "web")}), 400, "no credential attached")
}

// Access to the cluster is checked on every change, not only at create:
// once the runtime env is private, a user who cannot read it changes
// nothing there (403), while an admin still can.
func TestAccessCheckedOnEveryChange(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-locked", false) })
	if done := f.wait(t, f.create(t, f.body("locked", "web"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	lt.OK(t, f.e.Call(lt.Admin, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": f.clusterID}, Body: map[string]any{"visibility": "private"}}))
	path := map[string]string{"envKey": "locked"}
	for name, r := range map[string]lt.Response{
		"variables": f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}),
		"edit":      f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: path, Body: map[string]any{"registry_id": ""}}),
		"delete":    f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: map[string][]string{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: path}),
	} {
		if r.Status != 403 || !strings.Contains(r.Raw, f.clusterID) {
			t.Errorf("%s on a cluster no longer readable: %d %s", name, r.Status, r.Raw)
		}
	}
	if e := f.record(t, "locked"); e.OperationID != "" || e.State != "success" {
		t.Fatalf("a refused change changed the environment: %+v", e)
	}
	r := f.e.Call(lt.Admin, "DeleteEnvironment", lt.Req{Query: map[string][]string{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: path})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("admin's delete ended %v", done)
	}
}

// Namespaces are reserved by the cluster's identity, not by the runtime
// env record: the same cluster registered twice cannot give one namespace
// to two environments, even to an admin adopting it.
func TestClusterRegisteredTwice(t *testing.T) {
	f := setup(t)
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-twice", false) })
	again, _ := f.e.LocalRuntimeEnv(t, "name", "local-again")
	body := f.body("first", "web")
	body["namespace"] = "shop-env-twice"
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	second := f.body("second", "web")
	second["namespace"], second["cluster_id"] = "shop-env-twice", again
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: second}), 409, "belongs to another environment")
	lt.Failed(t, f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: pk(), Body: with(second, "adopt_namespace", true)}), 409, "belongs to another environment")
	// Gone from the cluster, the namespace is still reserved, by the cluster's identity.
	if err := f.c.DeleteNamespace(context.Background(), "shop-env-twice", true); err != nil {
		t.Fatal(err)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: second}), 409, "reserved by another environment")
	if r := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: map[string]string{"envKey": "second"}}); r.Status != 404 {
		t.Fatalf("a refused create left an environment: %s", r.Raw)
	}
}

const privileged = `apiVersion: apps/v1
kind: Deployment
metadata: {name: $Service$}
spec:
  replicas: 1
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec:
      hostPID: true
      containers: [{name: main, image: "busybox", securityContext: {privileged: true}}]
`

// Every namespace envhub creates enforces its runtime env's Pod Security
// level: baseline refuses a privileged pod, restricted also a plain one,
// and the apiserver's words fail the operation. Only an admin may choose
// privileged, which then admits it.
func TestPodSecurity(t *testing.T) {
	f := setup(t)
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "root", "yaml": privileged}}))
	setLevel := func(u lt.User, level string) lt.Response {
		return f.e.Call(u, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": f.clusterID}, Body: map[string]any{"pod_security": level}})
	}
	mine := f.e.RuntimeEnv(t, lt.Alice)
	for name, r := range map[string]lt.Response{
		"create privileged": f.e.Call(lt.Alice, "CreateRuntimeEnv", lt.Req{Body: map[string]any{"runtime": "kubernetes", "name": "x", "endpoint": "https://k8s.example.com", "zone": "z", "pod_security": "privileged"}}),
		"modify privileged": f.e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": mine}, Body: map[string]any{"pod_security": "privileged"}}),
	} {
		if r.Status != 403 || !strings.Contains(r.Raw, "pod_security") {
			t.Errorf("%s by a user: %d %s", name, r.Status, r.Raw)
		}
	}
	if r := setLevel(lt.Admin, "lax"); r.Status != 400 || !strings.Contains(r.Raw, "pod_security") {
		t.Errorf("unknown level: %d %s", r.Status, r.Raw)
	}
	// An admin gave alice a privileged env: sharing it is an admin's call too.
	given := f.e.RuntimeEnv(t, lt.Admin, "owner", "alice", "pod_security", "privileged")
	if r := f.e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": given}, Body: map[string]any{"visibility": "public"}}); r.Status != 403 || !strings.Contains(r.Raw, "privileged") {
		t.Errorf("sharing a privileged env: %d %s", r.Status, r.Raw)
	}
	lt.OK(t, f.e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": given}, Body: map[string]any{"pod_security": "privileged", "name": "mine"}}))
	for i, c := range []struct {
		level, service, says string
	}{
		{"", "root", "violates PodSecurity \"baseline:latest\""},
		{"restricted", "web", "violates PodSecurity \"restricted:latest\""},
		{"privileged", "root", ""},
	} {
		if c.level != "" {
			lt.OK(t, setLevel(lt.Admin, c.level))
		}
		key := fmt.Sprintf("psa%d", i)
		t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-"+key, false) })
		body := f.body(key, c.service)
		if c.service == "root" {
			body["services"].([]map[string]any)[0]["variable_kvs"] = nil
		}
		done := f.wait(t, f.create(t, body))
		if c.says == "" && done["status"] != "succeeded" || c.says != "" && (done["status"] != "failed" || !strings.Contains(fmt.Sprint(done["error"]), c.says)) {
			t.Errorf("%s level, service %s: %v", c.level, c.service, done)
		}
	}
}

// An environment made before namespaces were marked and reserved by
// cluster identity (its namespace labelled the old way, reserved by runtime
// env id, its applied objects listed nowhere) keeps working: a change marks
// its namespace, and deleting it removes its objects (found by their labels),
// leaves the namespace it may not have created, and frees the reservation.
func TestEnvironmentFromBefore(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const ns = "shop-env-old"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(ctx, ns, false) })
	st := f.e.Deps.Store
	old := &model.Environment{Record: model.Record{ID: model.NewID(model.KindEnvironment), Owner: "alice"}, ProjectID: f.projectID(t), ProjectKey: "shop",
		Key: "old", Name: "old", Type: model.EnvTest, ClusterID: f.clusterID, ClusterUID: f.clusterID, Namespace: ns, State: model.EnvSuccess,
		Globals: []model.KV{{Key: "replicas", Value: "1"}}, Services: []model.EnvService{{Name: "web", Variables: []model.Setting{{Key: "replicas", UseGlobal: true}}}}}
	op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: model.OpCreate, Deadline: time.Now()}
	if err := st.CreateEnvironment(ctx, old, store.Start{Op: op}, func(*model.Project) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.EndOperation(ctx, old.ID, op.ID, func(_ *model.Environment, op *model.Operation) { op.State = model.OpSucceeded }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnvironment(ctx, old.ID, func(e *model.Environment) error { e.ClusterUID = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"s-env": "old", "s-product": "shop", "app.kubernetes.io/managed-by": "envhub"}
	if err := f.c.EnsureNamespace(ctx, ns, labels); err != nil {
		t.Fatal(err)
	}
	objs, err := cluster.Decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-before}\ndata: {a: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ApplyObjects(ctx, ns, objs, labels); err != nil {
		t.Fatal(err)
	}
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: map[string]string{"envKey": "old"},
		Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "2"}}}}), "succeeded", "apply 1 prune 0")
	if got, _ := f.c.Namespace(ctx, ns); got.Labels[cluster.MarkEnvironment] != old.ID {
		t.Fatalf("namespace not marked: %v", got.Labels)
	}
	if done := f.del(t, "old", true); done["status"] != "succeeded" || fmt.Sprint(done["steps"]) != "[begin delete-objects sweep (1) release-namespace remove]" {
		t.Fatalf("delete ended %v", done)
	}
	if got := f.envhubObjects(t, ns, "old"); len(got) != 0 {
		t.Fatalf("objects left: %v", got)
	}
	again := f.body("again", "web")
	again["namespace"], again["adopt_namespace"] = ns, true
	r := f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: pk(), Body: again})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("adopting the freed namespace ended %v", done)
	}
}

// A Secret env config is stored only sealed: no item of the table holds its
// value in clear (the environment, the operation's plan), while the cluster
// gets it and later changes re-render it.
func TestSecretConfigsSealed(t *testing.T) {
	f := setup(t)
	const marker = "very-secret-value"
	body := f.body("sealed", "web")
	body["env_configs"] = []map[string]any{{"common_env_cfg_type": "Secret", "yaml_data": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: " + marker + "}\n"}}
	if done := f.wait(t, f.create(t, body)); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: map[string]string{"envKey": "sealed"},
		Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}), "succeeded", "apply 1 prune 0")
	s, err := f.c.Typed.CoreV1().Secrets("shop-env-sealed").Get(t.Context(), "db", metav1.GetOptions{})
	if err != nil || string(s.Data["password"]) != marker {
		t.Fatalf("the cluster's Secret: %v %v", s, err)
	}
	table := f.e.Deps.Store.Table()
	out, err := f.e.Deps.DB.Scan(t.Context(), &dynamodb.ScanInput{TableName: &table})
	if err != nil || len(out.Items) == 0 || out.LastEvaluatedKey != nil {
		t.Fatalf("scan: %d items, %v", len(out.Items), err)
	}
	for _, it := range out.Items {
		if raw, _ := json.Marshal(it); strings.Contains(string(raw), marker) || strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte(marker))) {
			t.Fatalf("an item holds the secret in clear: %s", raw)
		}
	}
}
