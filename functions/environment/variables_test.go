package environment_test

import (
	"context"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Updating a global variable re-renders and re-applies only the services
// that use it.
func TestGlobalVariables(t *testing.T) {
	f := setup(t)
	body := f.body("vars", "web", "api", "worker")
	services := body["services"].([]map[string]any)
	services[2]["variable_kvs"] = []map[string]any{{"key": "replicas", "value": "3"}} // worker: its own value
	op := f.create(t, body)
	if done := f.wait(t, op); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	path := map[string]string{"envKey": "vars"}
	r := f.e.Call(lt.Bob, "GetEnvironmentVariables", lt.Req{Query: pk(), Path: path})
	if len(r.List) != 1 || len(r.List[0].(map[string]any)["related_services"].([]any)) != 2 {
		t.Fatalf("variables %s", r.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Bob, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}), 403, "project")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "", "value": "1"}}}}), 400, "global_variables")
	// The worker's deployment is changed by hand: re-applying it would undo this.
	ctx := context.Background()
	worker, _ := f.c.Typed.AppsV1().Deployments("shop-env-vars").Get(ctx, "worker", metav1.GetOptions{})
	worker.Annotations = map[string]string{"touched": "by hand"}
	if _, err := f.c.Typed.AppsV1().Deployments("shop-env-vars").Update(ctx, worker, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Only web and api use the global value: the plan applies their two Deployments.
	f.operation(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: path, Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": "1"}}}}), "succeeded", "apply 2 prune 0")
	for name, want := range map[string]int32{"web": 1, "api": 1, "worker": 3} {
		d, err := f.c.Typed.AppsV1().Deployments("shop-env-vars").Get(ctx, name, metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != want {
			t.Errorf("%s replicas %v, want %d (%v)", name, d.Spec.Replicas, want, err)
		}
	}
	if w, _ := f.c.Typed.AppsV1().Deployments("shop-env-vars").Get(ctx, "worker", metav1.GetOptions{}); w.Annotations["touched"] != "by hand" {
		t.Error("an unrelated service was re-applied")
	}
	r = f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: path})
	if g := r.Body["global_variables"].([]any)[0].(map[string]any); g["value"] != "1" {
		t.Fatalf("stored globals %v", g)
	}
	// Each service shows its variables typed, with the values it renders with.
	for _, s := range r.Body["services"].([]any) {
		s := s.(map[string]any)
		want := map[string]any{"key": "replicas", "value": "1", "type": "string", "use_global_variable": true}
		if s["service_name"] == "worker" {
			want["value"], want["use_global_variable"] = "3", false
		}
		if kvs := s["variable_kvs"].([]any); len(kvs) != 1 || !reflect.DeepEqual(kvs[0], want) {
			t.Errorf("%v variable_kvs %v, want [%v]", s["service_name"], kvs, want)
		}
	}
	_ = f.c.DeleteNamespace(ctx, "shop-env-vars", false)
}
