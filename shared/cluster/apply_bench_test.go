package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/envhub/envhub/shared/cluster"
)

// services renders n services' worth of objects: Deployment + Service + ConfigMap each.
func services(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: ConfigMap
metadata: {name: svc%[1]d-config}
data: {index: "%[1]d"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: svc%[1]d, labels: {app: svc%[1]d}}
spec:
  replicas: 1
  selector: {matchLabels: {app: svc%[1]d}}
  template:
    metadata: {labels: {app: svc%[1]d}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc%[1]d}
spec: {selector: {app: svc%[1]d}, ports: [{port: 80}]}
`, i)
	}
	return b.String()
}

var plainGVR = map[string]schema.GroupVersionResource{
	"ConfigMap":  {Version: "v1", Resource: "configmaps"},
	"Service":    {Version: "v1", Resource: "services"},
	"Deployment": {Group: "apps", Version: "v1", Resource: "deployments"},
}

// BenchmarkApply20Services applies 20 services (60 objects) into a fresh
// namespace through the adapter, and the same objects with a plain client-go
// loop (one server-side apply after another), on the same apiserver, and
// prints both medians and their ratio. Figures, not assertions.
func BenchmarkApply20Services(b *testing.B) {
	c, _ := connect(b)
	manifest := []byte(services(20))
	const rounds = 7
	var adapter, plain []time.Duration
	for r := 0; r < rounds; r++ {
		ctx := context.Background()
		ns1, ns2 := fmt.Sprintf("bench-a-%d-%d", r, time.Now().UnixNano()%1e6), fmt.Sprintf("bench-p-%d-%d", r, time.Now().UnixNano()%1e6)
		for _, ns := range []string{ns1, ns2} {
			if err := c.EnsureNamespace(ctx, ns, nil); err != nil {
				b.Fatal(err)
			}
		}
		viaAdapter := func() {
			start := time.Now()
			if _, err := c.Apply(ctx, ns1, manifest, nil); err != nil {
				b.Fatal(err)
			}
			adapter = append(adapter, time.Since(start))
		}
		viaPlain := func() {
			objs, err := cluster.Decode(manifest)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for _, u := range objs {
				data, _ := u.MarshalJSON()
				if _, err := c.Dynamic.Resource(plainGVR[u.GetKind()]).Namespace(ns2).Patch(ctx, u.GetName(), types.ApplyPatchType, data,
					metav1.PatchOptions{FieldManager: "plain"}); err != nil {
					b.Fatal(err)
				}
			}
			plain = append(plain, time.Since(start))
		}
		// Each side goes first in turn, and a round starts once the last
		// one's namespaces are gone: neither runs beside the other's churn.
		if r%2 == 0 {
			viaAdapter()
			viaPlain()
		} else {
			viaPlain()
			viaAdapter()
		}
		for _, ns := range []string{ns1, ns2} {
			if err := c.DeleteNamespace(ctx, ns, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	slices.Sort(adapter)
	slices.Sort(plain)
	a, p := adapter[rounds/2], plain[rounds/2]
	fmt.Printf("\nApply 20 services (60 objects) into a fresh namespace, local kube-apiserver, median of %d rounds\n", rounds)
	fmt.Printf("  adapter (server-side apply, parallel): %v\n  plain client-go loop (sequential):     %v\n  ratio adapter/plain: %.2fx (target <= 1.1)\n\n",
		a.Round(time.Millisecond), p.Round(time.Millisecond), float64(a)/float64(p))
	b.ReportMetric(float64(a.Milliseconds()), "adapter-ms")
	b.ReportMetric(float64(p.Milliseconds()), "plain-ms")
}
