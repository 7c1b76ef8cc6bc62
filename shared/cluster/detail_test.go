package cluster_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// webService is one service's objects: a Deployment of replicas pods, its
// Service, an Ingress and a suspended CronJob (suspended so no Job pods join
// the Deployment's). Apply labels every object and pod template.
func webService(replicas int) string {
	return fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: "nginx:1.27", ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: web-nightly}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: web-nightly}}
        spec: {restartPolicy: Never, containers: [{name: job, image: "busybox:1.36"}]}
`, replicas)
}

const otherService = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: other}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: main, image: "nginx:1.27"}]}
`

func TestServiceObjects(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	if _, err := c.Apply(ctx(t), ns, []byte(webService(3)), map[string]string{"s-service": "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx(t), ns, []byte(otherService), map[string]string{"s-service": "other"}); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, ns, "web", 3)
	waitReady(t, c, ns, "other", 1)

	objs, err := c.ServiceObjects(ctx(t), ns, "s-service=web")
	if err != nil {
		t.Fatal(err)
	}
	names := func(n int, name func(int) string) []string {
		out := []string{}
		for i := 0; i < n; i++ {
			out = append(out, name(i))
		}
		return out
	}
	for kind, got := range map[string][]string{
		"Deployment":  names(len(objs.Deployments), func(i int) string { return objs.Deployments[i].Name }),
		"StatefulSet": names(len(objs.StatefulSets), func(i int) string { return objs.StatefulSets[i].Name }),
		"CronJob":     names(len(objs.CronJobs), func(i int) string { return objs.CronJobs[i].Name }),
		"Service":     names(len(objs.Services), func(i int) string { return objs.Services[i].Name }),
		"Ingress":     names(len(objs.Ingresses), func(i int) string { return objs.Ingresses[i].Name }),
	} {
		want := map[string]string{"Deployment": "[web]", "StatefulSet": "[]", "CronJob": "[web-nightly]", "Service": "[web]", "Ingress": "[web]"}[kind]
		if fmt.Sprint(got) != want {
			t.Errorf("%s: %v, want %s", kind, got, want)
		}
	}
	running := 0
	for _, p := range objs.Pods {
		if p.Labels["s-service"] != "web" || p.Labels["app"] != "web" {
			t.Errorf("pod %s of another service: %v", p.Name, p.Labels)
		}
		if p.DeletionTimestamp == nil {
			running++
		}
	}
	if running != 3 {
		t.Errorf("%d live pods, want 3", running)
	}
	if objs.Services[0].Spec.Ports[0].NodePort == 0 {
		t.Error("the NodePort service came back without its node port")
	}

	// Nothing matches: empty lists, not an error.
	if objs, err := c.ServiceObjects(ctx(t), ns, "s-service=none"); err != nil {
		t.Errorf("no match: %v", err)
	} else if n := len(objs.Pods) + len(objs.Deployments) + len(objs.Services) + len(objs.Ingresses) + len(objs.CronJobs); n != 0 {
		t.Errorf("no match: %d objects", n)
	}
	// A selector the apiserver cannot parse is the caller's error.
	if _, err := c.ServiceObjects(ctx(t), ns, "s-service in ("); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("bad selector: %v", err)
	}
	// Errors go through cluster.Err: a credential without rights is forbidden.
	_, lc := connect(t)
	viewer, err := cluster.New(lc.Server, with(lc.Content(), "token", lc.ViewerToken), local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viewer.ServiceObjects(ctx(t), ns, "s-service=web"); !errors.Is(err, errs.ErrForbidden) {
		t.Errorf("viewer: %v", err)
	}
}
