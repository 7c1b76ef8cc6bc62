package render

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/errs"
)

const pair = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: init, image: "busybox:{{ .tag }}"}]
      containers: [{name: main, image: "nginx:{{ .tag }}"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: main, image: "postgres:16"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: job}
spec:
  schedule: "* * * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: main, image: "busybox:1"}]}}}}
`

func renderPair(t *testing.T, tag string, ov Overrides) (map[string]*unstructured.Unstructured, []Superseded) {
	t.Helper()
	out, err := Environment(Env{Scope: Scope{Product: "p", EnvName: "e", Namespace: "p-env-e"}, Services: []EnvService{{
		Name: "svc", Template: pair, Vars: []Var{{Key: "tag", Value: tag}}, Overrides: ov}}})
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]*unstructured.Unstructured{}
	for _, o := range out.Services[0] {
		objs[o.GetKind()] = o
	}
	return objs, out.Superseded
}

func image(o *unstructured.Unstructured, field string) string {
	path, _ := podTemplate(o)
	cs, _, _ := unstructured.NestedSlice(o.Object, append(path, "spec", field)...)
	return cs[0].(map[string]any)["image"].(string)
}

func podTemplate(o *unstructured.Unstructured) ([]string, bool) {
	if o.GetKind() == "CronJob" {
		return []string{"spec", "jobTemplate", "spec", "template"}, true
	}
	return []string{"spec", "template"}, true
}

func TestOverrides(t *testing.T) {
	cases := []struct {
		name       string
		tag        string
		ov         Overrides
		web, db    string // main containers' images
		init       string
		replicas   int64 // web's
		superseded int
	}{
		{name: "none", tag: "1", web: "nginx:1", db: "postgres:16", init: "busybox:1", replicas: 2},
		{name: "every container of a name (create's containers)", tag: "1",
			ov:  Overrides{Images: []Image{{Container: "main", Image: "x:2"}}},
			web: "x:2", db: "x:2", init: "busybox:1", replicas: 2},
		{name: "one workload's container, base still rendered", tag: "1",
			ov:  Overrides{Images: []Image{{Workload: "Deployment/web", Container: "main", Image: "x:2", Base: "nginx:1"}}},
			web: "x:2", db: "postgres:16", init: "busybox:1", replicas: 2},
		{name: "init container", tag: "1",
			ov:  Overrides{Images: []Image{{Workload: "Deployment/web", Container: "init", Image: "x:3", Base: "busybox:1"}}},
			web: "nginx:1", db: "postgres:16", init: "x:3", replicas: 2},
		{name: "templates render a new image: it wins", tag: "2",
			ov:  Overrides{Images: []Image{{Workload: "Deployment/web", Container: "main", Image: "x:2", Base: "nginx:1"}}},
			web: "nginx:2", db: "postgres:16", init: "busybox:2", replicas: 2, superseded: 1},
		{name: "base after an earlier override", tag: "1",
			ov: Overrides{Images: []Image{{Container: "main", Image: "y:1"},
				{Workload: "Deployment/web", Container: "main", Image: "x:2", Base: "y:1"}}},
			web: "x:2", db: "y:1", init: "busybox:1", replicas: 2},
		{name: "replicas, to zero too", tag: "1", ov: Overrides{Replicas: map[string]int32{"Deployment/web": 0}},
			web: "nginx:1", db: "postgres:16", init: "busybox:1", replicas: 0},
		{name: "replicas of another kind's name are not: that workload is gone", tag: "1", ov: Overrides{Replicas: map[string]int32{"StatefulSet/web": 5}},
			web: "nginx:1", db: "postgres:16", init: "busybox:1", replicas: 2, superseded: 1},
		{name: "an image of a workload no longer rendered is gone", tag: "1",
			ov:  Overrides{Images: []Image{{Workload: "Deployment/old", Container: "main", Image: "x:2", Base: "nginx:1"}}},
			web: "nginx:1", db: "postgres:16", init: "busybox:1", replicas: 2, superseded: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs, sup := renderPair(t, c.tag, c.ov)
			web, db := objs["Deployment"], objs["StatefulSet"]
			if got := image(web, "containers"); got != c.web {
				t.Errorf("web %s, want %s", got, c.web)
			}
			if got := image(db, "containers"); got != c.db {
				t.Errorf("db %s, want %s", got, c.db)
			}
			if got := image(web, "initContainers"); got != c.init {
				t.Errorf("init %s, want %s", got, c.init)
			}
			if n, _ := Number(web.Object, "spec", "replicas"); n != c.replicas {
				t.Errorf("replicas %d, want %d", n, c.replicas)
			}
			if len(sup) != c.superseded {
				t.Errorf("superseded %v", sup)
			}
		})
	}
}

func TestRestartStampsRollingKinds(t *testing.T) {
	objs, _ := renderPair(t, "1", Overrides{RestartedAt: "2026-12-01T00:00:00Z"})
	for kind, want := range map[string]bool{"Deployment": true, "StatefulSet": true, "CronJob": false} {
		path, _ := podTemplate(objs[kind])
		got, _, _ := unstructured.NestedString(objs[kind].Object, append(path, "metadata", "annotations", RestartedAtAnnotation)...)
		if (got != "") != want {
			t.Errorf("%s stamped %q", kind, got)
		}
	}
}

func TestCheckImage(t *testing.T) {
	for _, ok := range []string{"nginx", "nginx:1.27", "docker.io/library/nginx:1.27", "registry.example.com:5000/team/web:2.0-rc1",
		"ghcr.io/a/b@sha256:" + sixtyFour, "localhost/x:y"} {
		if err := CheckImage("image", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "nginx:", "team/UPPER:1", "a b", " nginx", "nginx@sha256:123", ":tag", "nginx:bad tag", "-x/y"} {
		if err := CheckImage("image", bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestImageName(t *testing.T) {
	for in, want := range map[string]string{"nginx": "nginx", "nginx:1.27": "nginx", "registry.example.com:5000/team/web:2.0": "web",
		"ghcr.io/a/b@sha256:" + sixtyFour: "b", "not an image/x:y": "x"} {
		if got := ImageName(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
