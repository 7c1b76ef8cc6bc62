package envcfg_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

func ingress(name, host string) string {
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %s}
spec:
  rules:
  - host: %s
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`, name, host)
}

// An Ingress host is one environment's on a cluster: one another
// environment claims (applied or only recorded) or a live Ingress of
// another namespace routes is refused (409), before anything is recorded.
func TestIngressHosts(t *testing.T) {
	f := setup(t)
	f.env(t, "ing", "")
	f.env(t, "neighbour", "")
	suffix := fmt.Sprint(time.Now().UnixNano() % 1_000_000) // hosts are the whole cluster's
	host := func(s string) string { return s + "-" + suffix + ".envcfg.test" }

	f.succeeded(t, f.e.Call(lt.Alice, "CreateEnvConfig", req("neighbour", nil, cfgBody("Ingress", "front", ingress("front", host("front"))))))
	before := f.record(t, "ing")
	lt.Failed(t, f.add(lt.Alice, "ing", "Ingress", "front", ingress("front", host("front"))), 409, "ingress host "+host("front")+" is already routed")

	// Claimed by an operation that has not applied it yet: the store refuses.
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	lt.Success(t, f.e.Call(lt.Alice, "CreateEnvConfig", req("neighbour", nil, cfgBody("Ingress", "late", ingress("late", host("late"))))))
	f.withWorkflow(t, f.e.Deps.Workflow)
	lt.Failed(t, f.add(lt.Alice, "ing", "Ingress", "late", ingress("late", host("late"))), 409, "already routed by another environment")

	// Routed by an Ingress someone made in a namespace envhub knows nothing of.
	other := "envcfg-foreign-" + suffix
	if err := f.c.EnsureNamespace(t.Context(), other, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), other, false) })
	f.foreign(t, other, ingress("theirs", host("theirs")))
	lt.Failed(t, f.add(lt.Alice, "ing", "Ingress", "theirs", ingress("theirs", host("theirs"))), 409, "ingress host "+host("theirs")+" is already routed on this cluster")
	f.unchanged(t, "ing", before)

	// A host of its own is routed; updating the Ingress keeps it.
	f.succeeded(t, f.add(lt.Alice, "ing", "Ingress", "mine", ingress("mine", host("mine"))))
	f.succeeded(t, f.put(lt.Alice, "ing", "Ingress", "mine", ingress("mine", host("mine"))))
	if f.get(t, "ing", "networking.k8s.io/v1", "Ingress", "mine") == nil {
		t.Fatal("the Ingress is not live")
	}
	if got := f.record(t, "ing").Hosts; len(got) != 1 || got[0] != host("mine") {
		t.Fatalf("hosts claimed %v", got)
	}
	d := f.detail(lt.Alice, "ing", "Ingress", "mine")
	if _, ok := d.Body["ingress_detail"]; !ok {
		t.Fatalf("ingress detail %s", d.Raw)
	}
}

const pvc = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: %s}}
`

// What the apiserver refuses is a 400 in its words before anything is
// recorded: the local cluster has no storage class, so the claim stays
// unbound and shrinking it is refused as a change of an unbound claim's
// spec; an immutable ConfigMap's data; a value out of the API's range.
func TestClusterRefusals(t *testing.T) {
	f := setup(t)
	f.env(t, "dry", "")
	f.succeeded(t, f.add(lt.Alice, "dry", "PVC", "data", fmt.Sprintf(pvc, "1Gi")))
	f.succeeded(t, f.add(lt.Alice, "dry", "ConfigMap", "frozen", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {a: \"1\"}\n"))
	before := f.record(t, "dry")

	r := f.put(lt.Alice, "dry", "PVC", "data", fmt.Sprintf(pvc, "500Mi"))
	lt.Failed(t, r, 400, "yaml_data: the cluster refuses it")
	t.Logf("shrinking the claim: %s", r.Body["message"])
	if !strings.Contains(fmt.Sprint(r.Body["message"]), "spec") {
		t.Fatalf("not the apiserver's words: %s", r.Raw)
	}
	r = f.put(lt.Alice, "dry", "ConfigMap", "frozen", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {a: \"2\"}\n")
	lt.Failed(t, r, 400, "immutable")
	bad := strings.Replace(ingress("bad", "bad.envcfg.test"), "Prefix", "Sideways", 1)
	lt.Failed(t, f.add(lt.Alice, "dry", "Ingress", "bad", bad), 400, "pathType")
	f.unchanged(t, "dry", before)
	if live := f.get(t, "dry", "v1", "PersistentVolumeClaim", "data"); fmt.Sprint(live.Object["spec"].(map[string]any)["resources"]) != "map[requests:map[storage:1Gi]]" {
		t.Fatalf("the claim changed: %v", live.Object["spec"])
	}
	if live := f.get(t, "dry", "v1", "ConfigMap", "frozen"); live.Object["data"].(map[string]any)["a"] != "1" {
		t.Fatal("the immutable ConfigMap changed")
	}
	if f.get(t, "dry", "networking.k8s.io/v1", "Ingress", "bad") != nil {
		t.Fatal("a dry run created an Ingress")
	}
	f.deleted(t, f.del(lt.Alice, "dry", "PVC", "data"))
	if live := f.get(t, "dry", "v1", "PersistentVolumeClaim", "data"); live != nil && live.GetDeletionTimestamp() == nil {
		t.Fatal("the claim is still there")
	}
}
