package environment_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
	"github.com/envhub/envhub/shared/routes"
)

// The service routes' benches live here for this package's fixture (a
// project of bench templates on the local cluster); the routes are the
// service function's, called through its API Gateway events.

// BenchmarkServiceDetail10Pods times GetEnvironmentService of a service
// running 10 pods against the direct client-go list calls of the same
// objects (Deployments, StatefulSets, CronJobs, Pods, Services, Ingresses
// by the service's labels), on the same apiserver. Figures, not assertions.
func BenchmarkServiceDetail10Pods(b *testing.B) {
	f := setup(b)
	names := f.benchServices(b, 1)
	body := f.body("detail", names...)
	body["global_variables"] = []map[string]any{{"key": "replicas", "value": "10"}}
	resp := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: body})
	lt.Success(b, resp)
	if done := f.waitTB(b, resp.Body["operation_id"].(string), 50*time.Millisecond); done["status"] != "succeeded" {
		b.Fatalf("create ended %v", done)
	}
	ctx := context.Background()
	c, err := f.e.Deps.Connector(0).Connect(ctx, f.clusterID)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.DeleteNamespace(context.Background(), "shop-env-detail", false) })
	req := lt.Req{Query: pk(), Path: map[string]string{"envKey": "detail", "serviceName": names[0]}}
	if r := f.e.Call(lt.Alice, "GetEnvironmentService", req); r.Status != 200 {
		b.Fatalf("detail: %s", r.Raw)
	} else if pods := r.Body["scales"].([]any)[0].(map[string]any)["pods"].([]any); len(pods) != 10 {
		b.Fatalf("detail shows %d pods, not 10", len(pods))
	}
	opts := metav1.ListOptions{LabelSelector: render.Selector("detail", names[0])}
	ns := "shop-env-detail"
	direct := func() {
		apps, core := c.Typed.AppsV1(), c.Typed.CoreV1()
		lists := []func() error{
			func() error { _, err := apps.Deployments(ns).List(ctx, opts); return err },
			func() error { _, err := apps.StatefulSets(ns).List(ctx, opts); return err },
			func() error { _, err := c.Typed.BatchV1().CronJobs(ns).List(ctx, opts); return err },
			func() error { _, err := core.Pods(ns).List(ctx, opts); return err },
			func() error { _, err := core.Services(ns).List(ctx, opts); return err },
			func() error { _, err := c.Typed.NetworkingV1().Ingresses(ns).List(ctx, opts); return err },
		}
		var wg sync.WaitGroup
		for _, l := range lists {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := l(); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	// The event as API Gateway hands it to the function, built once: what
	// is timed is the function's own work on it.
	rt := routes.Table[slices.IndexFunc(routes.Table, func(r routes.Route) bool { return r.Action == "GetEnvironmentService" })]
	ev := lt.SampleEvent(b, rt)
	lt.FillEvent(&ev, rt, lt.Alice, req)
	fn := f.e.Fns[rt.Function]
	const n = 60
	var api, dir []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if r, err := fn.ProxyWithContext(ctx, ev); err != nil || r.StatusCode != 200 {
			b.Fatal(r.Body, err)
		}
		api = append(api, time.Since(start))
		start = time.Now()
		direct()
		dir = append(dir, time.Since(start))
		// Latency, not throughput: each side's client-go token bucket (100
		// requests/s) refills between rounds of six lists.
		time.Sleep(70 * time.Millisecond)
	}
	slices.Sort(api)
	slices.Sort(dir)
	a, d := api[n/2], dir[n/2]
	fmt.Printf("\nService detail, 10 pods (Deployment + Service + ConfigMap), local cluster, p50 of %d\n", n)
	fmt.Printf("  GET service detail (the function on its API Gateway event: DynamoDB + cluster): %v\n  the same 6 list calls with client-go, concurrently:                          %v\n  ratio: %.2fx (target <= 1.5)\n\n",
		a.Round(10*time.Microsecond), d.Round(10*time.Microsecond), float64(a)/float64(d))
	b.ReportMetric(float64(a.Microseconds()), "api-us")
	b.ReportMetric(float64(d.Microseconds()), "direct-us")
}

// BenchmarkAdd10Services times adding 10 services to an environment, from
// the POST to the operation's success (state machine on the local engine,
// readiness included), against applying the same rendered objects with the
// adapter and polling readiness directly. Figures, not assertions.
func BenchmarkAdd10Services(b *testing.B) {
	f := setup(b)
	names := f.benchServices(b, 11)
	ctx := context.Background()
	c, err := f.e.Deps.Connector(0).Connect(ctx, f.clusterID)
	if err != nil {
		b.Fatal(err)
	}
	const rounds = 3
	add := make([]map[string]any, 0, 10)
	for _, n := range names[1:] {
		add = append(add, map[string]any{"service_name": n, "variable_kvs": []map[string]any{{"key": "replicas", "use_global_variable": true}}})
	}
	viaAPI := func(key string) time.Duration {
		resp := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body(key, names[0])})
		lt.Success(b, resp)
		f.waitTB(b, resp.Body["operation_id"].(string), 50*time.Millisecond)
		start := time.Now()
		resp = f.e.Call(lt.Alice, "AddEnvironmentServices", lt.Req{Query: pk(), Body: map[string]any{"env_key": key, "service_list": add}})
		lt.Success(b, resp)
		if done := f.waitTB(b, resp.Body["operation_id"].(string), 50*time.Millisecond); done["status"] != "succeeded" {
			b.Fatalf("add ended %v", done)
		}
		return time.Since(start)
	}
	directly := func(key string) time.Duration {
		ns := "shop-env-d" + key
		if err := c.EnsureNamespace(ctx, ns, nil); err != nil {
			b.Fatal(err)
		}
		e := &model.Environment{ProjectID: f.projectID(b), ProjectKey: "shop", Key: "d" + key, Namespace: ns,
			Globals: []model.KV{{Key: "replicas", Value: "2"}}}
		for _, n := range names[1:] {
			e.Services = append(e.Services, model.EnvService{Name: n, Variables: []model.Setting{{Key: "replicas", UseGlobal: true}}})
		}
		start := time.Now()
		out, err := f.e.Deps.Renderer().Render(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		applyReady(b, c, ns, out, 10)
		return time.Since(start)
	}
	a, d := alternate(b, c, rounds, "a", viaAPI, directly)
	fmt.Printf("\nAdding 10 services (Deployment x2 replicas + Service + ConfigMap each) to an environment, local cluster, median of %d\n", rounds)
	fmt.Printf("  POST service/yaml -> operation succeeded (state machine): %v\n  adapter apply + readiness polling, directly:              %v\n  ratio: %.2fx (target <= 1.3)\n\n",
		a.Round(time.Millisecond), d.Round(time.Millisecond), float64(a)/float64(d))
	b.ReportMetric(float64(a.Milliseconds()), "api-ms")
	b.ReportMetric(float64(d.Milliseconds()), "direct-ms")
}
