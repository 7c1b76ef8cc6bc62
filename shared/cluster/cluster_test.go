package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/infra/local/testcert"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/netguard"
)

var local = netguard.Policy{AllowLoopback: true}

func connect(t testing.TB) (*cluster.Cluster, *lt.Cluster) {
	t.Helper()
	lc := lt.LocalCluster(t)
	c, err := cluster.New(lc.Server, lc.Content(), local)
	if err != nil {
		t.Fatal(err)
	}
	return c, lc
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// namespace makes a namespace for one test and deletes it afterwards.
func namespace(t *testing.T, c *cluster.Cluster) string {
	name := fmt.Sprintf("t-%d", time.Now().UnixNano()%1_000_000_000)
	if err := c.EnsureNamespace(ctx(t), name, map[string]string{"app.kubernetes.io/managed-by": "envhub"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.DeleteNamespace(context.Background(), name, false) })
	return name
}

func TestConnectAndValidate(t *testing.T) {
	c, lc := connect(t)
	v, err := c.ServerVersion(ctx(t))
	if err != nil || !strings.HasPrefix(v, "v1.37.2") {
		t.Fatalf("version %q, %v", v, err)
	}
	if user, err := c.Identity(ctx(t)); err != nil || user != "envhub-admin" {
		t.Fatalf("identity %q, %v", user, err)
	}
	kc, err := cluster.New(lc.Server, map[string]string{"kubeconfig": lc.Kubeconfig}, local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.ServerVersion(ctx(t)); err != nil {
		t.Fatalf("kubeconfig credential: %v", err)
	}
	cases := []struct {
		name    string
		server  string
		content map[string]string
		check   func(*cluster.Cluster) error
		want    error
	}{
		{"wrong token", lc.Server, with(lc.Content(), "token", "nope"), func(c *cluster.Cluster) error { _, err := c.Identity(ctx(t)); return err }, errs.ErrForbidden},
		{"no rights", lc.Server, with(lc.Content(), "token", lc.ViewerToken), func(c *cluster.Cluster) error { _, err := c.Identity(ctx(t)); return err }, errs.ErrForbidden},
		{"wrong CA", lc.Server, with(lc.Content(), "certificate_authority_data", testcert.CAData(t)), func(c *cluster.Cluster) error { _, err := c.ServerVersion(ctx(t)); return err }, cluster.ErrUnreachable},
		{"nothing listening", "https://127.0.0.1:1", lc.Content(), func(c *cluster.Cluster) error { _, err := c.ServerVersion(ctx(t)); return err }, cluster.ErrUnreachable},
	}
	for _, tc := range cases {
		c, err := cluster.New(tc.server, tc.content, local)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := tc.check(c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		server  string
		content map[string]string
		policy  netguard.Policy
	}{
		"metadata endpoint":    {"https://169.254.169.254", lc.Content(), local},
		"loopback not allowed": {lc.Server, lc.Content(), netguard.Policy{}},
		"exec kubeconfig":      {lc.Server, map[string]string{"kubeconfig": strings.Replace(lc.Kubeconfig, "token: "+lc.Token, "exec: {command: sh, apiVersion: client.authentication.k8s.io/v1}", 1)}, local},
		"not kubernetes":       {lc.Server, map[string]string{"access_key_id": "a"}, local},
	} {
		if _, err := cluster.New(tc.server, tc.content, tc.policy); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

const app = `
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: main, image: "nginx:1.27"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

func waitReady(t *testing.T, c *cluster.Cluster, ns, name string, replicas int) cluster.Workload {
	var got cluster.Workload
	err := wait.PollUntilContextTimeout(ctx(t), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		ws, err := c.Workloads(ctx(t), ns, "")
		if err != nil {
			return false, err
		}
		for _, w := range ws {
			running := 0
			for _, p := range w.Pods {
				if p.Status.Phase == "Running" && p.DeletionTimestamp == nil {
					running++
				}
			}
			if w.Name == name && w.IsReady() && int(w.Desired) == replicas && running == replicas {
				got = w
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%s/%s not ready with %d pods: %v", ns, name, replicas, err)
	}
	return got
}

func TestApplyAndOperate(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	labels := map[string]string{"s-env": "e1", "app.kubernetes.io/managed-by": "envhub"}
	refs, err := c.Apply(ctx(t), ns, []byte(app), labels)
	if err != nil || len(refs) != 3 {
		t.Fatalf("apply: %v %v", refs, err)
	}
	w := waitReady(t, c, ns, "web", 1)
	if w.Labels["s-env"] != "e1" || w.Pods[0].Labels["s-env"] != "e1" || w.Pods[0].Labels["app"] != "web" {
		t.Fatalf("labels not merged into object and pod template: %v / %v", w.Labels, w.Pods[0].Labels)
	}
	// Applying again is a no-op, not an error.
	if _, err := c.Apply(ctx(t), ns, []byte(app), labels); err != nil {
		t.Fatalf("re-apply: %v", err)
	}

	events, err := c.Events(ctx(t), ns, cluster.EventFilter{Kind: "Deployment", Name: "web"})
	if err != nil || len(events) == 0 || events[0].Reason != "ScalingReplicaSet" {
		t.Fatalf("events %v %v", events, err)
	}

	if err := c.Delete(ctx(t), refs); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx(t), "v1", "ConfigMap", ns, "web-config"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := c.Delete(ctx(t), refs); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestApplyErrors(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	cases := map[string]struct {
		manifest string
		want     error
		says     string
	}{
		"not yaml":        {"a: [", errs.ErrInvalid, "document 1"},
		"no kind":         {"apiVersion: v1\nmetadata: {name: x}", errs.ErrInvalid, "kind"},
		"unknown kind":    {"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}", errs.ErrInvalid, "no kind"},
		"invalid object":  {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}", errs.ErrInvalid, "Bad_Name"},
		"cluster-scoped":  {"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: mine}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: me}]", errs.ErrInvalid, "cluster-scoped"},
		"other namespace": {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}", errs.ErrInvalid, "kube-system"},
		"invalid field":   {"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: [{name: m, image: x}]}}}", errs.ErrInvalid, "selector"},
	}
	for name, tc := range cases {
		_, err := c.Apply(ctx(t), ns, []byte(tc.manifest), nil)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A field another manager owns is a conflict, reported as such.
	other := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\ndata: {k: theirs}"
	u, _ := cluster.Decode([]byte(other))
	data, _ := u[0].MarshalJSON()
	if _, err := c.Typed.CoreV1().ConfigMaps(ns).Patch(ctx(t), "shared", "application/apply-patch+yaml", data, metav1.PatchOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(ctx(t), ns, []byte(strings.Replace(other, "theirs", "ours", 1)), nil)
	if !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "someone-else") {
		t.Fatalf("conflict: %v", err)
	}
}

const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: virtualservices.networking.istio.io}
spec:
  group: networking.istio.io
  scope: Namespaced
  names: {plural: virtualservices, singular: virtualservice, kind: VirtualService, shortNames: [vs]}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

func TestCustomResources(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	if _, err := c.Apply(ctx(t), "", []byte(crd), nil); err != nil {
		t.Fatal(err)
	}
	vs, _ := cluster.Decode([]byte("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: portal}\nspec: {hosts: [portal.example.com]}"))
	// The CRD becomes servable shortly after it is created.
	err := wait.PollUntilContextTimeout(ctx(t), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, err := c.Create(ctx(t), ns, vs[0].DeepCopy())
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("create VirtualService: %v", err)
	}
	if _, err := c.Create(ctx(t), ns, vs[0].DeepCopy()); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("create twice: %v", err)
	}
	got, err := c.Get(ctx(t), "networking.istio.io/v1beta1", "VirtualService", ns, "portal")
	if err != nil || fmt.Sprint(got.Object["spec"]) != "map[hosts:[portal.example.com]]" {
		t.Fatalf("get: %v %v", got, err)
	}
	if err := c.DeleteObject(ctx(t), "networking.istio.io/v1beta1", "VirtualService", ns, "portal"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx(t), "networking.istio.io/v1beta1", "VirtualService", ns, "portal"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
