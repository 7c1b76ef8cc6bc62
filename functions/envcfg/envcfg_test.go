package envcfg_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/functions/envcfg"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/workflow"
)

// The project's one service renders a ConfigMap of its own: deleting it as
// an env config is refused.
const webTemplate = `apiVersion: v1
kind: ConfigMap
metadata: {name: $Service$-settings}
data: {replicas: "{{ .replicas }}"}
`

type fixture struct {
	e         *lt.Env
	c         *cluster.Cluster
	clusterID string
}

const project = "cfg"

func pk() url.Values { return url.Values{"projectKey": {project}} }

// setup registers the local control plane as a runtime env and a project
// "cfg" (alice's, public) with one service, web.
func setup(t *testing.T) fixture {
	t.Helper()
	e := lt.New(t)
	id, c := e.LocalRuntimeEnv(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": project, "visibility": "public"}}))
	lt.Success(t, e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "web", "yaml": webTemplate,
		"variables": []map[string]any{{"key": "replicas", "value": "1", "type": "string"}}}}))
	return fixture{e, c, id}
}

// ns is the namespace of an environment of the project.
func ns(key string) string { return project + "-env-" + key }

// env creates an environment (production when envName is set) with the
// web service and waits until it is up.
func (f fixture) env(t *testing.T, key, envName string) {
	t.Helper()
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns(key), false) })
	body := map[string]any{"env_key": key, "cluster_id": f.clusterID, "services": []map[string]any{{"service_name": "web", "type": "k8s",
		"containers": []map[string]any{}, "variable_kvs": []map[string]any{{"key": "replicas", "value": "2"}}}}}
	action := "CreateEnvironment"
	if envName != "" {
		action, body["env_name"] = "CreateProductionEnvironment", envName
	}
	f.succeeded(t, f.e.Call(lt.Alice, action, lt.Req{Query: pk(), Body: body}))
}

// wait polls an operation until it ends.
func (f fixture) wait(t *testing.T, op string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		r := f.e.Call(lt.Alice, "GetOperation", lt.Req{Path: map[string]string{"operation_id": op}})
		if r.Status != 200 {
			t.Fatalf("operation: %s", r.Raw)
		}
		if r.Body["status"] != "running" {
			return r.Body
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("operation %s still running", op)
	return nil
}

// succeeded checks r started an operation and waits for it to succeed.
func (f fixture) succeeded(t *testing.T, r lt.Response) map[string]any {
	t.Helper()
	op, _ := r.Body["operation_id"].(string)
	if r.Status != 200 || op == "" {
		t.Fatalf("want an operation, got %d %s", r.Status, r.Raw)
	}
	done := f.wait(t, op)
	if done["status"] != "succeeded" {
		t.Fatalf("operation ended %v", done)
	}
	return done
}

// req builds a request of the envKey's environment.
func req(key string, query url.Values, body any, path ...string) lt.Req {
	q := pk()
	for k, v := range query {
		q[k] = v
	}
	p := map[string]string{}
	if key != "" {
		p["envKey"] = key
	}
	if len(path) > 0 {
		p["cfgName"] = path[0]
	}
	return lt.Req{Path: p, Query: q, Body: body}
}

func typed(t string) url.Values { return url.Values{"type": {t}} }

func cfgBody(typ, name, yaml string) map[string]any {
	return map[string]any{"name": name, "common_env_cfg_type": typ, "yaml_data": yaml}
}

// add adds a config to a test environment.
func (f fixture) add(u lt.User, key, typ, name, yaml string) lt.Response {
	return f.e.Call(u, "CreateEnvConfig", req(key, nil, cfgBody(typ, name, yaml)))
}

// put updates a config of an environment.
func (f fixture) put(u lt.User, key, typ, name, yaml string) lt.Response {
	b := cfgBody(typ, name, yaml)
	b["env_key"] = key
	return f.e.Call(u, "UpdateEnvConfig", req("", nil, b))
}

func (f fixture) detail(u lt.User, key, typ, name string) lt.Response {
	return f.e.Call(u, "GetEnvConfig", req(key, typed(typ), nil, name))
}

func (f fixture) del(u lt.User, key, typ, name string) lt.Response {
	return f.e.Call(u, "DeleteEnvConfig", req(key, typed(typ), nil, name))
}

// deleted checks a delete's answer ({"message": 200, "operation_id"}) and
// waits for its operation.
func (f fixture) deleted(t *testing.T, r lt.Response) {
	t.Helper()
	if r.Status != 200 || r.Body["message"] != float64(200) {
		t.Fatalf("delete answered %d %s", r.Status, r.Raw)
	}
	f.succeeded(t, r)
}

// names lists a type's configs as the list shows them.
func (f fixture) names(t *testing.T, key, typ string) []string {
	t.Helper()
	r := f.e.Call(lt.Alice, "ListEnvConfigs", req(key, typed(typ), nil))
	if r.Status != 200 {
		t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	out := []string{}
	for _, it := range r.List {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// get reads a live object of an environment's namespace (nil: none).
func (f fixture) get(t *testing.T, key, apiVersion, kind, name string) *unstructured.Unstructured {
	t.Helper()
	o, err := f.c.Get(t.Context(), apiVersion, kind, ns(key), name)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// foreign creates an object in a namespace as someone else would (kubectl).
func (f fixture) foreign(t *testing.T, namespace, yaml string) {
	t.Helper()
	objs, err := cluster.Decode([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	o := objs[0]
	gvr, _, err := f.c.GVR(o.GetAPIVersion(), o.GetKind())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Dynamic.Resource(gvr).Namespace(namespace).Create(t.Context(), o, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatal(err)
	}
}

// record reads an environment of the project from the store.
func (f fixture) record(t *testing.T, key string) *model.Environment {
	t.Helper()
	p, err := f.e.Deps.Store.ProjectByKey(t.Context(), project)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.e.Deps.Store.EnvironmentByKey(t.Context(), p.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// unchanged checks a refused request changed nothing: the environment is
// at the same version, idle, with the same configs.
func (f fixture) unchanged(t *testing.T, key string, before *model.Environment) {
	t.Helper()
	after := f.record(t, key)
	if after.Version != before.Version || after.OperationID != "" || len(after.Configs) != len(before.Configs) {
		t.Fatalf("a refused request changed the environment: version %d -> %d, operation %q, %d -> %d configs",
			before.Version, after.Version, after.OperationID, len(before.Configs), len(after.Configs))
	}
}

// withWorkflow serves the envcfg function with another workflow runner.
func (f fixture) withWorkflow(t *testing.T, w workflow.Runner) {
	t.Helper()
	h := envcfg.New(f.e.Deps)
	h.Workflow = w
	router, err := api.Mount("envcfg", h.Actions())
	if err != nil {
		t.Fatal(err)
	}
	f.e.Fns["envcfg"] = httpadapter.NewV2(router)
}

// lostStart records operations but never starts their executions.
type lostStart struct{ workflow.Runner }

func (lostStart) Start(context.Context, string, string, []byte) error { return nil }

func cm(name, data string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  %s\n", name, data)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
