package environment_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: $Service$}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
`

var vars = []map[string]any{{"key": "replicas", "value": "1", "type": "string"}}

type fixture struct {
	e         *lt.Env
	c         *cluster.Cluster
	clusterID string
}

// setup registers the local control plane as a runtime env and a project
// "shop" (alice's) with three services.
func setup(t testing.TB) fixture {
	e := lt.New(t)
	envID, c := e.LocalRuntimeEnv(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "shop", "visibility": "public"}}))
	for _, s := range []string{"web", "api", "worker"} {
		lt.Success(t, e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": s, "yaml": deployment, "variables": vars}}))
	}
	return fixture{e, c, envID}
}

func pk() url.Values { return url.Values{"projectKey": {"shop"}} }

func (f fixture) body(key string, services ...string) map[string]any {
	var ss []map[string]any
	for _, s := range services {
		ss = append(ss, map[string]any{"service_name": s, "type": "k8s", "containers": []map[string]any{{"name": "main", "image": "nginx:1.28", "image_name": "nginx"}},
			"variable_kvs": []map[string]any{{"key": "replicas", "use_global_variable": true}}})
	}
	return map[string]any{"env_key": key, "cluster_id": f.clusterID, "services": ss,
		"global_variables": []map[string]any{{"key": "replicas", "value": "2"}},
		"env_configs":      []map[string]any{{"common_env_cfg_type": "ConfigMap", "yaml_data": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, uid: x}\ndata: {a: b}\n"}}}
}

// wait polls an operation until it ends.
func (f fixture) wait(t *testing.T, op string) map[string]any {
	t.Helper()
	return f.waitAs(t, lt.Alice, op)
}

func (f fixture) waitAs(t *testing.T, u lt.User, op string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r := f.e.Call(u, "GetOperation", lt.Req{Path: map[string]string{"operation_id": op}})
		if r.Status != 200 {
			t.Fatalf("operation: %s", r.Raw)
		}
		if r.Body["status"] != "running" {
			return r.Body
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("operation %s still running", op)
	return nil
}

func (f fixture) create(t *testing.T, body map[string]any) string {
	t.Helper()
	ns, _ := body["namespace"].(string)
	if ns == "" {
		ns = "shop-env-" + fmt.Sprint(body["env_key"])
	}
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) }) // whatever the test left
	r := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: body})
	lt.Success(t, r)
	return r.Body["operation_id"].(string)
}

// del deletes an environment and waits for the operation.
func (f fixture) del(t *testing.T, key string, isDelete bool) map[string]any {
	t.Helper()
	r := f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {"shop"}, "isDelete": {fmt.Sprint(isDelete)}}, Path: map[string]string{"envKey": key}})
	lt.Success(t, r)
	return f.wait(t, r.Body["operation_id"].(string))
}

// record reads an environment of project shop from the store.
func (f fixture) record(t testing.TB, key string) *model.Environment {
	t.Helper()
	e, err := f.e.Deps.Store.EnvironmentByKey(context.Background(), f.projectID(t), key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// applied is the environment's applied set, as kind/name.
func (f fixture) applied(t testing.TB, envID string) []string {
	t.Helper()
	objs, err := f.e.Deps.Store.AllApplied(context.Background(), envID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range objs {
		out = append(out, a.Kind+"/"+a.Name)
	}
	sort.Strings(out)
	return out
}

// envhubObjects lists what carries an environment's labels in a namespace.
func (f fixture) envhubObjects(t *testing.T, ns, key string) []string {
	t.Helper()
	var out []string
	sel := metav1.ListOptions{LabelSelector: "s-env=" + key + ",app.kubernetes.io/managed-by=envhub"}
	cms, err := f.c.Typed.CoreV1().ConfigMaps(ns).List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range cms.Items {
		out = append(out, "ConfigMap/"+o.Name)
	}
	deps, err := f.c.Typed.AppsV1().Deployments(ns).List(t.Context(), sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range deps.Items {
		out = append(out, "Deployment/"+o.Name)
	}
	return out
}

func TestCreateAndDelete(t *testing.T) {
	f := setup(t)
	op := f.create(t, f.body("dev", "web", "api", "worker"))
	// A second operation on a busy environment is refused, naming the running one.
	r := f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: map[string]string{"envKey": "dev"}})
	if r.Status != 409 || !strings.Contains(r.Raw, op) {
		t.Fatalf("delete while creating: %d %s", r.Status, r.Raw)
	}
	done := f.wait(t, op)
	if done["status"] != "succeeded" || done["kind"] != "create" {
		t.Fatalf("create ended %v", done)
	}
	if fmt.Sprint(done["steps"]) != "[begin namespace apply succeed]" || fmt.Sprint(done["plan"]) != "map[applied:4 apply:4 chunks:1 prune:0]" {
		t.Errorf("steps %v, plan %v", done["steps"], done["plan"])
	}
	r = f.e.Call(lt.Bob, "GetEnvironment", lt.Req{Query: pk(), Path: map[string]string{"envKey": "dev"}})
	if r.Status != 200 || r.Body["status"] != "success" || r.Body["namespace"] != "shop-env-dev" || r.Body["last_operation_id"] != op || r.Body["operation_id"] != nil {
		t.Fatalf("detail %s", r.Raw)
	}
	// The ended operation's plan is kept 30 days (DynamoDB TTL), then goes.
	table := f.e.Deps.Store.Table()
	chunk, err := f.e.Deps.DB.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "op#" + op}, "SK": &types.AttributeValueMemberS{Value: "P#0000"}}})
	if err != nil || chunk.Item["expires_at"] == nil {
		t.Fatalf("plan chunk of an ended operation: %v %v", chunk, err)
	}
	for _, s := range r.Body["services"].([]any) {
		if st := s.(map[string]any)["status"]; st != "running" {
			t.Errorf("service %v is %v", s.(map[string]any)["service_name"], st)
		}
	}
	if rel := r.Body["global_variables"].([]any)[0].(map[string]any)["related_services"].([]any); len(rel) != 3 {
		t.Errorf("related_services %v", rel)
	}
	ctx := context.Background()
	// envhub made the namespace, marked it for the environment and has the
	// apiserver enforce the runtime env's Pod Security level (baseline).
	ns, err := f.c.Namespace(ctx, "shop-env-dev")
	env := f.record(t, "dev")
	if err != nil || ns.Labels[cluster.MarkEnvironment] != env.ID || ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" || ns.Annotations[cluster.MarkCreatedBy] != env.ID {
		t.Fatalf("namespace %v %v (%v)", ns.Labels, ns.Annotations, err)
	}
	if got := f.applied(t, env.ID); fmt.Sprint(got) != "[ConfigMap/settings Deployment/api Deployment/web Deployment/worker]" {
		t.Fatalf("applied set %v", got)
	}
	pods, err := f.c.Typed.CoreV1().Pods("shop-env-dev").List(ctx, metav1.ListOptions{LabelSelector: "s-env=dev,s-product=shop"})
	if err != nil || len(pods.Items) != 6 {
		t.Fatalf("%d pods (want 3 services x 2 replicas from the global variable): %v", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != "Running" || p.Spec.Containers[0].Image != "nginx:1.28" {
			t.Errorf("pod %s %s image %s", p.Name, p.Status.Phase, p.Spec.Containers[0].Image)
		}
	}
	if cm, err := f.c.Typed.CoreV1().ConfigMaps("shop-env-dev").Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Labels["s-env"] != "dev" {
		t.Fatalf("env config: %v %v", cm, err)
	}
	if list := f.e.Call(lt.Alice, "ListEnvironments", lt.Req{Query: pk()}); !strings.Contains(list.Raw, `"env_key":"dev"`) {
		t.Fatalf("list %s", list.Raw)
	}

	// Delete with isDelete=true removes the namespace and forgets the environment.
	if done := f.del(t, "dev", true); done["status"] != "succeeded" || fmt.Sprint(done["steps"]) != "[begin delete-objects sweep (0) delete-namespace remove]" {
		t.Fatalf("delete ended %v", done)
	}
	if _, err := f.c.Namespace(ctx, "shop-env-dev"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("namespace after delete: %v", err)
	}
	if r := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: map[string]string{"envKey": "dev"}}); r.Status != 404 {
		t.Fatalf("deleted env still there: %s", r.Raw)
	}
	if got := f.applied(t, env.ID); len(got) != 0 {
		t.Fatalf("applied set after delete %v", got)
	}
}
