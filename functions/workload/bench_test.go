package workload_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// BenchmarkImageUpdate times an image update of a 2-replica Deployment
// from POST to the operation's success (env-update on the local engine,
// ending when the rollout is complete), against a client-go patch of the
// same image in a twin namespace plus watching that Deployment until its
// rollout is complete, as kubectl rollout status does. Figures, not
// assertions.
func BenchmarkImageUpdate(b *testing.B) {
	f := setup(b)
	f.env(b, "bench", false)
	ctx := context.Background()
	const twin = "wl-env-twin"
	_ = f.c.DeleteNamespace(ctx, twin, true)
	b.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), twin, false) })
	if err := f.c.EnsureNamespace(ctx, twin, nil); err != nil {
		b.Fatal(err)
	}
	// The twin: the environment's own web Deployment, scaled alike.
	f.succeeded(b, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("bench", "web", "Deployment", 2)}))
	web := f.deployment(b, "bench", "web")
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": twin, "labels": web.Labels},
		"spec":     map[string]any{"replicas": int64(2), "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}}}}}
	tpl, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&web.Spec.Template)
	if err != nil {
		b.Fatal(err)
	}
	_ = unstructured.SetNestedField(u.Object, tpl, "spec", "template")
	if _, err := f.c.ApplyObjects(ctx, twin, []*unstructured.Unstructured{u}, nil); err != nil {
		b.Fatal(err)
	}
	waitRolledOut(b, f, twin, "web")

	viaAPI := func(image string) time.Duration {
		start := time.Now()
		r := f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("bench"), Body: imageBody("bench", "shop", "web", "web", image)})
		if done := f.e.Ended(b, lt.Alice, r, 50*time.Millisecond); done["status"] != "succeeded" {
			b.Fatalf("image update ended %v", done)
		}
		return time.Since(start)
	}
	directly := func(image string) time.Duration {
		start := time.Now()
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`, image)
		if _, err := f.c.Typed.AppsV1().Deployments(twin).Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		waitRolledOut(b, f, twin, "web")
		return time.Since(start)
	}
	var api, direct []time.Duration
	for r := 0; r < 7; r++ {
		image := fmt.Sprintf("registry.example.com/team/web:1.%d", r)
		if r%2 == 0 { // each side goes first in turn
			api, direct = append(api, viaAPI(image)), append(direct, directly(image))
		} else {
			direct, api = append(direct, directly(image)), append(api, viaAPI(image))
		}
	}
	a, d := median(api), median(direct)
	fmt.Printf("\nImage update of a Deployment (2 replicas), local cluster, median of %d\n", len(api))
	fmt.Printf("  POST image -> operation succeeded (rollout complete): %v\n  client-go patch + watch until rolled out, directly:    %v\n  ratio: %.2fx (target <= 1.3)\n\n",
		a.Round(time.Millisecond), d.Round(time.Millisecond), float64(a)/float64(d))
	b.ReportMetric(float64(a.Milliseconds()), "api-ms")
	b.ReportMetric(float64(d.Milliseconds()), "direct-ms")
}

// BenchmarkListEvents times GET kube/events of a Deployment against the
// direct client-go list of the same events, alternating, 60 calls each.
func BenchmarkListEvents(b *testing.B) {
	f := setup(b)
	f.env(b, "evb", false)
	for i := 0; i < 3; i++ { // some events to list: scaling and rollouts
		f.succeeded(b, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("evb", "web", "Deployment", 2+i%2)}))
	}
	ctx := context.Background()
	q := url.Values{"projectKey": {project}, "envName": {"evb"}, "name": {"web"}, "type": {"Deployment"}}
	sel := fields.Set{"involvedObject.name": "web", "involvedObject.kind": "Deployment"}.AsSelector().String()
	var api, direct []time.Duration
	n := 0
	for i := 0; i < 60; i++ {
		start := time.Now()
		r := f.e.Call(lt.Alice, "ListKubeEvents", lt.Req{Query: q})
		api = append(api, time.Since(start))
		if r.Status != 200 || len(r.List) == 0 {
			b.Fatalf("events: %d %s", r.Status, r.Raw)
		}
		start = time.Now()
		list, err := f.c.Typed.CoreV1().Events(ns("evb")).List(ctx, metav1.ListOptions{FieldSelector: sel})
		direct = append(direct, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		n = len(list.Items)
	}
	a, d := median(api), median(direct)
	slices.Sort(api)
	slices.Sort(direct)
	fmt.Printf("\nList events of a Deployment (%d events), local cluster, 60 calls each\n", n)
	fmt.Printf("  GET kube/events p50: %v (p90 %v)\n  client-go list p50:  %v (p90 %v)\n  ratio p50: %.2fx (target <= 1.5)\n\n",
		a.Round(time.Microsecond), api[len(api)*9/10].Round(time.Microsecond), d.Round(time.Microsecond), direct[len(direct)*9/10].Round(time.Microsecond),
		float64(a)/float64(d))
	b.ReportMetric(float64(a.Microseconds()), "api-us")
	b.ReportMetric(float64(d.Microseconds()), "direct-us")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// waitRolledOut watches a Deployment until its rollout is complete, with
// kubectl rollout status's checks.
func waitRolledOut(b *testing.B, f fixture, ns, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w, err := f.c.Typed.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if d, ok := ev.Object.(*appsv1.Deployment); ok && ev.Type != watch.Deleted && complete(d) {
			return
		}
	}
	b.Fatalf("%s/%s did not roll out", ns, name)
}

func complete(d *appsv1.Deployment) bool {
	st := d.Status
	return d.Generation <= st.ObservedGeneration && st.UpdatedReplicas == *d.Spec.Replicas && st.Replicas == st.UpdatedReplicas &&
		st.AvailableReplicas == st.UpdatedReplicas
}
