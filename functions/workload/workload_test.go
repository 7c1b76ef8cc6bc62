package workload_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/cluster"
)

// The project's "shop" service runs two Deployments, a StatefulSet, a
// DaemonSet and a CronJob; "jobs" only a CronJob.
const shopTemplate = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:{{ .tag }}"}
      - {name: sidecar, image: "busybox:1.36"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: "example.com/team/api:1.0"}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: postgres, image: "postgres:16"}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: "busybox:1.36"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cleanup}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: cleanup, image: "busybox:1.36"}
`

const jobsTemplate = `apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 4 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: report, image: "busybox:1.36"}
`

const project = "wl"

const restartedAt = "kubectl.kubernetes.io/restartedAt"

func pk() url.Values { return url.Values{"projectKey": {project}} }

type fixture struct {
	e         *lt.Env
	c         *cluster.Cluster
	clusterID string
}

// setup registers the local control plane and project "wl" (alice's,
// public) with services shop and jobs.
func setup(t testing.TB) fixture {
	t.Helper()
	e := lt.New(t)
	id, c := e.LocalRuntimeEnv(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": project, "visibility": "public"}}))
	lt.Success(t, e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "shop", "yaml": shopTemplate,
		"variables": []map[string]any{{"key": "tag", "value": "1.27", "type": "string"}}}}))
	lt.Success(t, e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "jobs", "yaml": jobsTemplate}}))
	return fixture{e, c, id}
}

func ns(key string) string { return project + "-env-" + key }

// env creates an environment (production when prod) with both services
// and waits until it is up.
func (f fixture) env(t testing.TB, key string, prod bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = f.c.DeleteNamespace(ctx, ns(key), true) // a run before this one's
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), ns(key), false) })
	body := map[string]any{"env_key": key, "cluster_id": f.clusterID, "services": []map[string]any{
		{"service_name": "shop", "type": "k8s", "containers": []map[string]any{}},
		{"service_name": "jobs", "type": "k8s", "containers": []map[string]any{}}}}
	action := "CreateEnvironment"
	if prod {
		action, body["env_name"] = "CreateProductionEnvironment", key
	}
	f.succeeded(t, f.e.Call(lt.Alice, action, lt.Req{Query: pk(), Body: body}))
}

// succeeded checks r started an operation and waits for it to succeed.
func (f fixture) succeeded(t testing.TB, r lt.Response) map[string]any {
	t.Helper()
	done := f.e.Ended(t, lt.Alice, r, 200*time.Millisecond)
	if done["status"] != "succeeded" {
		t.Fatalf("operation ended %v", done)
	}
	return done
}

func scaleBody(key, name, kind string, n int) map[string]any {
	return map[string]any{"project_key": project, "env_key": key, "workload_name": name, "workload_type": kind, "target_replicas": n}
}

func imageBody(key, svc, name, container, image string) map[string]any {
	return map[string]any{"product_name": project, "env_name": key, "service_name": svc, "name": name, "container_name": container, "image": image}
}

func (f fixture) deployment(t testing.TB, key, name string) *appsv1.Deployment {
	t.Helper()
	d, err := f.c.Typed.AppsV1().Deployments(ns(key)).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f fixture) statefulSet(t testing.TB, key, name string) *appsv1.StatefulSet {
	t.Helper()
	s, err := f.c.Typed.AppsV1().StatefulSets(ns(key)).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rolledOut checks a Deployment's rollout is complete as kubectl rollout
// status would say: the operation must not end before.
func rolledOut(t testing.TB, d *appsv1.Deployment, replicas int32) {
	t.Helper()
	st := d.Status
	if d.Generation != st.ObservedGeneration || st.UpdatedReplicas != replicas || st.Replicas != replicas || st.AvailableReplicas != replicas {
		t.Fatalf("%s not rolled out to %d: generation %d observed %d, status %+v", d.Name, replicas, d.Generation, st.ObservedGeneration, st)
	}
}

func TestScaleImageRestartAndEvents(t *testing.T) {
	f := setup(t)
	f.env(t, "dev", false)

	// Scale: the operation ends once the rollout is complete.
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("dev", "web", "Deployment", 3)}))
	rolledOut(t, f.deployment(t, "dev", "web"), 3)
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("dev", "db", "StatefulSet", 2)}))
	if s := f.statefulSet(t, "dev", "db"); s.Status.ReadyReplicas != 2 || s.Status.UpdatedReplicas != 2 {
		t.Fatalf("db: %+v", s.Status)
	}

	// Image: one container of one workload.
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: map[string]string{"envKey": "dev"},
		Body: imageBody("dev", "shop", "web", "web", "registry.example.com/team/web:2.0")}))
	d := f.deployment(t, "dev", "web")
	rolledOut(t, d, 3)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/team/web:2.0" || d.Spec.Template.Spec.Containers[1].Image != "busybox:1.36" {
		t.Fatalf("images %+v", d.Spec.Template.Spec.Containers)
	}
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateCronJobImage", lt.Req{Path: map[string]string{"envKey": "dev"},
		Body: imageBody("dev", "jobs", "report", "report", "busybox:1.37")}))
	cj, err := f.c.Typed.BatchV1().CronJobs(ns("dev")).Get(context.Background(), "report", metav1.GetOptions{})
	if err != nil || cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != "busybox:1.37" {
		t.Fatalf("cronjob %v %v", cj, err)
	}

	// The environment remembers both through a services update.
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Path: map[string]string{"envKey": "dev"}, Query: pk(),
		Body: map[string]any{"service_list": []map[string]any{{"service_name": "shop", "variable_kvs": []map[string]any{{"key": "tag", "value": "1.27"}}}}}}))
	d = f.deployment(t, "dev", "web")
	if *d.Spec.Replicas != 3 || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/team/web:2.0" {
		t.Fatalf("after a services update: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}

	// Restart rolls every workload of the service, completely: when the
	// operation ends, every pod of each runs the stamped template.
	f.succeeded(t, f.e.Call(lt.Alice, "RestartService", lt.Req{Path: map[string]string{"envKey": "dev", "serviceName": "shop"}, Query: pk()}))
	stamp := f.deployment(t, "dev", "web").Spec.Template.Annotations[restartedAt]
	if stamp == "" {
		t.Fatal("web not restarted")
	}
	pods, err := f.c.Typed.CoreV1().Pods(ns("dev")).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]int{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if p.Annotations[restartedAt] != stamp {
			t.Errorf("pod %s (%s) not restarted: %v", p.Name, p.Labels["app"], p.Annotations)
		}
		running[p.Labels["app"]]++
	}
	if running["web"] != 3 || running["api"] != 1 || running["db"] != 2 || running["agent"] != 1 {
		t.Fatalf("pods after restart: %v", running)
	}
	if s := f.statefulSet(t, "dev", "db"); s.Status.CurrentRevision != s.Status.UpdateRevision {
		t.Fatalf("db rollout not complete: %+v", s.Status)
	}

	// The service detail shows what was set, live.
	r := f.e.Call(lt.Alice, "GetEnvironmentService", lt.Req{Path: map[string]string{"envKey": "dev", "serviceName": "shop"}, Query: pk()})
	if r.Status != 200 || !strings.Contains(r.Raw, `"name":"web","type":"Deployment","images":[{"name":"web","image":"registry.example.com/team/web:2.0","image_name":"web"}`) ||
		!strings.Contains(r.Raw, `"replicas":3`) {
		t.Fatalf("service detail: %s", r.Raw)
	}

	// Events of web, and only web's: the fields the spec shows, newest first.
	r = f.e.Call(lt.Alice, "ListKubeEvents", lt.Req{Query: url.Values{"projectKey": {project}, "envName": {"dev"}, "name": {"web"}, "type": {"Deployment"}}})
	if r.Status != 200 || len(r.List) < 3 {
		t.Fatalf("events: %d %s", r.Status, r.Raw)
	}
	last := int64(1 << 62)
	for _, item := range r.List {
		ev := item.(map[string]any)
		if len(ev) != 6 || ev["reason"] != "ScalingReplicaSet" || !strings.Contains(ev["message"].(string), "replica set web-") ||
			ev["type"] != "Normal" || ev["count"].(float64) < 1 || ev["first_seen"].(float64) > ev["last_seen"].(float64) {
			t.Fatalf("event %v", ev)
		}
		if seen := int64(ev["last_seen"].(float64)); seen > last {
			t.Fatalf("not newest first: %s", r.Raw)
		} else {
			last = seen
		}
	}
}
