package environment_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/model"
)

// BenchmarkUpdate20Services times a global-variable change that re-applies
// all 20 services of an environment (replicas), from PUT to the operation's
// success (env-update on the local engine), against rendering and applying
// the same change with the adapter and polling readiness directly in a twin
// namespace: both sides make the same moves (down, up...). Figures, not
// assertions.
func BenchmarkUpdate20Services(b *testing.B) {
	f := setup(b)
	names := f.benchServices(b, 20)
	ctx := context.Background()
	const key, ns = "upd", "shop-env-upd"
	b.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns, false) })
	resp := f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: f.body(key, names...)})
	lt.Success(b, resp)
	if done := f.waitTB(b, resp.Body["operation_id"].(string), 50*time.Millisecond); done["status"] != "succeeded" {
		b.Fatalf("create ended %v", done)
	}
	conn := f.e.Deps.Connector(0)
	c, err := conn.Connect(ctx, f.clusterID)
	if err != nil {
		b.Fatal(err)
	}
	const twin = "shop-env-twin"
	b.Cleanup(func() { _ = c.DeleteNamespace(context.Background(), twin, false) })
	if err := c.EnsureNamespace(ctx, twin, nil); err != nil {
		b.Fatal(err)
	}
	viaAPI := func(v int) time.Duration {
		start := time.Now()
		r := f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Query: pk(), Path: map[string]string{"envKey": key},
			Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": strconv.Itoa(v)}}}})
		lt.Success(b, r)
		if done := f.waitTB(b, r.Body["operation_id"].(string), 50*time.Millisecond); done["status"] != "succeeded" {
			b.Fatalf("update ended %v", done)
		}
		return time.Since(start)
	}
	directly := func(v int) time.Duration {
		e := f.record(b, key)
		e.Globals = []model.KV{{Key: "replicas", Value: strconv.Itoa(v)}}
		start := time.Now()
		out, err := f.e.Deps.Renderer().Render(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		var objs = out.Configs
		for _, s := range out.Services {
			objs = append(objs, s...)
		}
		for _, o := range objs {
			o.SetNamespace(twin)
		}
		if _, err := c.ApplyObjects(ctx, twin, objs, nil); err != nil {
			b.Fatal(err)
		}
		for ready := false; !ready; {
			ws, err := c.Workloads(ctx, twin, "s-env="+key)
			if err != nil {
				b.Fatal(err)
			}
			ready = len(ws) == 20
			for _, w := range ws {
				ready = ready && w.IsReady() && w.Desired == int32(v)
			}
			if !ready {
				time.Sleep(50 * time.Millisecond)
			}
		}
		return time.Since(start)
	}
	directly(2) // the twin starts where the environment is
	var api, direct []time.Duration
	for r, v := range []int{1, 3, 2, 1, 3, 2} {
		// Each side goes first in turn.
		if r%2 == 0 {
			api = append(api, viaAPI(v))
			direct = append(direct, directly(v))
		} else {
			direct = append(direct, directly(v))
			api = append(api, viaAPI(v))
		}
	}
	slices.Sort(api)
	slices.Sort(direct)
	a, d := api[len(api)/2], direct[len(direct)/2]
	fmt.Printf("\nGlobal variable update re-applying 20 services (Deployment replicas change), local cluster, median of %d\n", len(api))
	fmt.Printf("  PUT variables -> operation succeeded (env-update): %v\n  render + adapter apply + readiness polling, directly: %v\n  ratio: %.2fx (target <= 1.3)\n\n",
		a.Round(time.Millisecond), d.Round(time.Millisecond), float64(a)/float64(d))
	b.ReportMetric(float64(a.Milliseconds()), "api-ms")
	b.ReportMetric(float64(d.Milliseconds()), "direct-ms")
}
