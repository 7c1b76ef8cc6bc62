package environment_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

const benchService = `apiVersion: v1
kind: ConfigMap
metadata: {name: $Service$-config}
data: {replicas: "{{ .replicas }}"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $Service$}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Service
metadata: {name: $Service$}
spec: {selector: {app: $Service$}, ports: [{port: 80}]}
`

// BenchmarkCreate20Services times an environment of 20 services from POST
// to success (state machine on the local engine), against applying the same
// rendered objects with the adapter and polling readiness directly, on the
// same cluster. Figures, not assertions.
func BenchmarkCreate20Services(b *testing.B) {
	f := setup(b)
	names := f.benchServices(b, 20)
	ctl := f.e.Deps.Renderer()
	conn := f.e.Deps.Connector(0)
	ctx := context.Background()
	const rounds = 5
	viaAPI := func(key string) time.Duration {
		start := time.Now()
		resp := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body(key, names...)})
		lt.Success(b, resp)
		if done := f.waitTB(b, resp.Body["operation_id"].(string), 50*time.Millisecond); done["status"] != "succeeded" {
			b.Fatalf("create ended %v", done)
		}
		return time.Since(start)
	}
	// The same environment, applied directly: render, namespace, apply, poll readiness.
	directly := func(key string) time.Duration {
		e := &model.Environment{ProjectID: f.projectID(b), ProjectKey: "shop", Key: "d" + key, Namespace: "shop-env-d" + key}
		for _, s := range f.body(key, names...)["services"].([]map[string]any) {
			e.Services = append(e.Services, model.EnvService{Name: s["service_name"].(string), Variables: []model.Setting{{Key: "replicas", UseGlobal: true}}})
		}
		e.Globals = []model.KV{{Key: "replicas", Value: "2"}}
		start := time.Now()
		out, err := ctl.Render(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		c, err := conn.Connect(ctx, f.clusterID)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.EnsureNamespace(ctx, e.Namespace, nil); err != nil {
			b.Fatal(err)
		}
		applyReady(b, c, e.Namespace, out, 20)
		return time.Since(start)
	}
	c, err := conn.Connect(ctx, f.clusterID)
	if err != nil {
		b.Fatal(err)
	}
	a, d := alternate(b, c, rounds, "b", viaAPI, directly)
	fmt.Printf("\nEnvironment of 20 services (Deployment x2 replicas + Service + ConfigMap each), local cluster, median of %d\n", rounds)
	fmt.Printf("  POST create -> operation succeeded (state machine): %v\n  adapter apply + readiness polling, directly:        %v\n  ratio: %.2fx (target <= 1.3)\n\n",
		a.Round(time.Millisecond), d.Round(time.Millisecond), float64(a)/float64(d))
	b.ReportMetric(float64(a.Milliseconds()), "api-ms")
	b.ReportMetric(float64(d.Milliseconds()), "direct-ms")
}

// applyReady applies the services' objects of out into ns with the adapter
// and polls until want workloads are ready: the direct side of the benches
// that time an operation to its readiness.
func applyReady(b *testing.B, c *cluster.Cluster, ns string, out *render.Output, want int) {
	var objs []*unstructured.Unstructured
	for _, s := range out.Services {
		objs = append(objs, s...)
	}
	if _, err := c.ApplyObjects(context.Background(), ns, objs, nil); err != nil {
		b.Fatal(err)
	}
	for ready := false; !ready; {
		ws, err := c.Workloads(context.Background(), ns, "")
		if err != nil {
			b.Fatal(err)
		}
		ready = len(ws) == want
		for _, w := range ws {
			ready = ready && w.IsReady()
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// alternate times rounds of both sides, keyed prefix0, prefix1...: each side
// goes first in turn, and each round starts once the last one's namespaces
// (shop-env-<key>, shop-env-d<key>) are gone, so neither side runs beside
// the other's cleanup. It returns the medians.
func alternate(b *testing.B, c *cluster.Cluster, rounds int, prefix string, viaAPI, directly func(key string) time.Duration) (api, direct time.Duration) {
	var as, ds []time.Duration
	for r := 0; r < rounds; r++ {
		key := fmt.Sprintf("%s%d", prefix, r)
		if r%2 == 0 {
			as = append(as, viaAPI(key))
			ds = append(ds, directly(key))
		} else {
			ds = append(ds, directly(key))
			as = append(as, viaAPI(key))
		}
		for _, ns := range []string{"shop-env-" + key, "shop-env-d" + key} {
			if err := c.DeleteNamespace(context.Background(), ns, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	slices.Sort(as)
	slices.Sort(ds)
	return as[rounds/2], ds[rounds/2]
}

// benchServices adds n service templates of benchService, named svc00...
func (f fixture) benchServices(t testing.TB, n int) []string {
	var names []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc%02d", i)
		names = append(names, name)
		lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": name, "yaml": benchService, "variables": vars}}))
	}
	return names
}

func (f fixture) projectID(t testing.TB) string {
	p, err := f.e.Deps.Store.ProjectByKey(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// waitTB polls an operation until it ends.
func (f fixture) waitTB(t testing.TB, op string, every time.Duration) map[string]any {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		r := f.e.Call(lt.Alice, "GetOperation", lt.Req{Path: map[string]string{"operation_id": op}})
		if r.Body["status"] != "running" {
			return r.Body
		}
		time.Sleep(every)
	}
	t.Fatalf("operation %s still running", op)
	return nil
}
