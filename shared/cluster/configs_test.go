package cluster_test

import (
	"fmt"
	"slices"
	"testing"
)

// ListObjects lists one kind of a namespace, whoever made the objects;
// IngressHosts lists the hosts routed everywhere but the namespace given.
func TestListObjectsAndIngressHosts(t *testing.T) {
	c, _ := connect(t)
	a, b := namespace(t, c), namespace(t, c)
	host := fmt.Sprintf("h-%s.configs.test", a)
	manifest := func(name, h string) []byte {
		return []byte(fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: %[1]s}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: %[1]s}
spec:
  tls: [{hosts: [%[2]s, tls-%[2]s]}]
  rules:
  - host: %[2]s
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`, name, h))
	}
	if _, err := c.Apply(ctx(t), a, manifest("one", host), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx(t), b, manifest("two", "b-"+host), nil); err != nil {
		t.Fatal(err)
	}
	objs, err := c.ListObjects(ctx(t), "v1", "ConfigMap", a)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	if !slices.Contains(names, "one") || slices.Contains(names, "two") {
		t.Fatalf("ConfigMaps of %s: %v", a, names)
	}
	routed, err := c.IngressHosts(ctx(t), a)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, r := range routed {
		if r.Namespace == a {
			t.Fatalf("hosts of the namespace left out are listed: %v", r)
		}
		if r.Namespace == b {
			hosts = append(hosts, r.Host+"@"+r.Name)
		}
	}
	if fmt.Sprint(hosts) != fmt.Sprintf("[b-%[1]s@two tls-b-%[1]s@two]", host) {
		t.Fatalf("hosts of %s: %v", b, hosts)
	}
	if _, err := c.ListObjects(ctx(t), "v1", "Node", a); err == nil {
		t.Fatal("listing a cluster-scoped kind in a namespace")
	}
}
