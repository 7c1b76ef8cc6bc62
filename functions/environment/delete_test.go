package environment_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
)

// broken renders a ConfigMap and a Deployment whose selector does not match
// its pod labels: the apiserver takes the first and refuses the second.
var broken = `apiVersion: v1
kind: ConfigMap
metadata: {name: $Service$-config}
data: {a: b}
---
` + strings.Replace(deployment, "template:\n    metadata: {labels: {app: $Service$}}", "template:\n    metadata: {labels: {app: other}}", 1)

// A create that fails half way still knows what it applied (recorded
// before applying), so a delete leaves no envhub object behind. Here the
// namespace is an existing one an admin adopted: deleting the environment
// removes its objects, also one its applied set never knew (found by its
// labels), and hands the namespace back unmarked instead of deleting it.
func TestFailedCreateLeavesNothingBehind(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "broken", "variables": vars, "yaml": broken}}))
	const ns = "shop-env-adopted"
	if _, err := f.c.Typed.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": "a"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DeleteNamespace(ctx, ns, false) })
	body := f.body("bad", "broken")
	body["namespace"] = ns
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: body}), 409, "did not create")
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: with(body, "adopt_namespace", true)}), 403, "admin")
	r := f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: pk(), Body: with(body, "adopt_namespace", true)})
	lt.Success(t, r)
	done := f.wait(t, r.Body["operation_id"].(string))
	if done["status"] != "failed" || !strings.Contains(fmt.Sprint(done["error"]), "selector") {
		t.Fatalf("failed create ended %v", done)
	}
	e := f.record(t, "bad")
	if e.State != "failed" || !strings.Contains(e.Reason, "selector") {
		t.Fatalf("failed env: %s %q", e.State, e.Reason)
	}
	if got := f.applied(t, e.ID); fmt.Sprint(got) != "[ConfigMap/broken-config ConfigMap/settings Deployment/broken]" {
		t.Fatalf("applied set after a failed create: %v", got)
	}
	if got := f.envhubObjects(t, ns, "bad"); len(got) != 2 {
		t.Fatalf("objects applied before the failure: %v", got)
	}
	// One more, labelled as the environment's but unknown to its applied set.
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stray", Labels: map[string]string{"s-env": "bad", "s-product": "shop", "app.kubernetes.io/managed-by": "envhub"}}}
	if _, err := f.c.Typed.CoreV1().ConfigMaps(ns).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if done := f.del(t, "bad", true); done["status"] != "succeeded" || fmt.Sprint(done["steps"]) != "[begin delete-objects sweep (1) release-namespace remove]" {
		t.Fatalf("delete ended %v", done)
	}
	if got := f.envhubObjects(t, ns, "bad"); len(got) != 0 {
		t.Fatalf("envhub objects left in the namespace: %v", got)
	}
	got, err := f.c.Namespace(ctx, ns)
	if err != nil || got.Labels[cluster.MarkEnvironment] != "" || got.Labels["s-env"] != "" || got.Labels["team"] != "a" {
		t.Fatalf("adopted namespace after delete: %v %v", got.Labels, err)
	}
}

// isDelete=false keeps the namespace and what runs there; envhub forgets
// the environment and the namespace stays reserved, retained, until an
// admin adopts it.
func TestDeleteKeepsServicesRunning(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const ns = "shop-env-kept"
	t.Cleanup(func() { _ = f.c.DeleteNamespace(ctx, ns, false) })
	if done := f.wait(t, f.create(t, f.body("kept", "web"))); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	e := f.record(t, "kept")
	if done := f.del(t, "kept", false); done["status"] != "succeeded" || fmt.Sprint(done["steps"]) != "[begin retain-namespace remove]" {
		t.Fatalf("delete ended %v", done)
	}
	if got := f.envhubObjects(t, ns, "kept"); fmt.Sprint(got) != "[ConfigMap/settings Deployment/web]" {
		t.Fatalf("services kept: %v", got)
	}
	got, err := f.c.Namespace(ctx, ns)
	if err != nil || got.Labels[cluster.MarkRetained] != "true" || got.Labels[cluster.MarkEnvironment] != e.ID {
		t.Fatalf("retained namespace %v %v", got.Labels, err)
	}
	if got := f.applied(t, e.ID); len(got) != 0 {
		t.Fatalf("a forgotten environment's applied set: %v", got)
	}
	// The key is free again, the namespace is not.
	again := f.body("kept", "web")
	again["namespace"] = ns
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: again}), 409, "kept when its environment")
	r := f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: pk(), Body: with(again, "adopt_namespace", true)})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("adopting create ended %v", done)
	}
	// Adopted, it is not the new environment's to delete: isDelete=true
	// empties it of the environment's objects and unmarks it.
	if done := f.del(t, "kept", true); done["status"] != "succeeded" || fmt.Sprint(done["steps"]) != "[begin delete-objects sweep (0) release-namespace remove]" {
		t.Fatalf("delete ended %v", done)
	}
	if got, err := f.c.Namespace(ctx, ns); err != nil || got.Labels[cluster.MarkEnvironment] != "" || len(f.envhubObjects(t, ns, "kept")) != 0 {
		t.Fatalf("namespace after isDelete=true: %v %v", got, err)
	}
}

func with(body map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for a, b := range body {
		out[a] = b
	}
	out[k] = v
	return out
}
