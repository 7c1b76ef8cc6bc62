package workload_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/model"
)

// slowTemplate's Deployment runs on the node its variable names, and gives
// up a rollout that has not progressed for 2 s.
const slowTemplate = `apiVersion: apps/v1
kind: Deployment
metadata: {name: slow}
spec:
  progressDeadlineSeconds: 2
  selector: {matchLabels: {app: slow}}
  template:
    metadata: {labels: {app: slow}}
    spec:
      nodeSelector: {kubernetes.io/hostname: "{{ .node }}"}
      containers:
      - {name: slow, image: "busybox:1.36"}
`

// stored reads the environment as the store keeps it.
func (f fixture) stored(t *testing.T, key string) *model.Environment {
	t.Helper()
	_, e, err := f.e.Deps.Store.ProjectEnvironment(context.Background(), project, key)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f fixture) failed(t *testing.T, r lt.Response, says string) {
	t.Helper()
	done := f.e.Ended(t, lt.Alice, r, 200*time.Millisecond)
	if msg, _ := done["error"].(string); done["status"] != "failed" || !strings.Contains(msg, says) {
		t.Fatalf("want the operation failed saying %q, got %v", says, done)
	}
}

func envKey(key string) map[string]string { return map[string]string{"envKey": key} }

// An image the kubelet cannot pull fails the operation with the pod's
// reason; setting a good image again heals the environment.
func TestImagePullErrorFailsTheOperation(t *testing.T) {
	f := setup(t)
	f.env(t, "b1", false)
	f.failed(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b1"),
		Body: imageBody("b1", "shop", "api", "api", "unpullable.invalid/team/api:9")}), "ImagePullBackOff")
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b1"),
		Body: imageBody("b1", "shop", "api", "api", "example.com/team/api:1.1")}))
	rolledOut(t, f.deployment(t, "b1", "api"), 1)
	if e := f.stored(t, "b1"); e.State != model.EnvSuccess {
		t.Fatalf("environment %s: %s", e.State, e.Reason)
	}
}

// A rollout past its progress deadline (its new pods cannot be scheduled)
// fails the operation in the apiserver's words.
func TestProgressDeadlineFailsTheOperation(t *testing.T) {
	f := setup(t)
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "slow", "yaml": slowTemplate,
		"variables": []map[string]any{{"key": "node", "value": "kwok-node-0", "type": "string"}}}}))
	f.env(t, "b2", false)
	lt.Success(t, f.e.Call(lt.Alice, "AddEnvironmentServices", lt.Req{Query: pk(), Body: map[string]any{"env_key": "b2",
		"service_list": []map[string]any{{"service_name": "slow"}}}}))
	f.waitIdle(t, "b2")
	f.failed(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Path: envKey("b2"), Query: pk(),
		Body: map[string]any{"service_list": []map[string]any{{"service_name": "slow", "variable_kvs": []map[string]any{{"key": "node", "value": "nowhere"}}}}}}),
		"ProgressDeadlineExceeded")
}

// waitIdle waits until the environment runs no operation.
func (f fixture) waitIdle(t *testing.T, key string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if e := f.stored(t, key); e.OperationID == "" {
			return
		}
	}
	t.Fatalf("environment %s still busy", key)
}

// What the routes set is the environment's: shown in its detail, kept in
// its revisions, through later changes, unless templates name a new image.
func TestTheEnvironmentRemembers(t *testing.T) {
	f := setup(t)
	f.env(t, "b3", false)
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b3", "web", "Deployment", 3)}))
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b3", "web", "Deployment", 0)}))
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b3"),
		Body: imageBody("b3", "shop", "web", "web", "registry.example.com/team/web:2.0")}))
	e := f.stored(t, "b3")
	shop := e.Services[0]
	if len(shop.Replicas) != 1 || shop.Replicas[0] != (model.Replicas{Workload: "Deployment/web", Replicas: 0, Last: 3}) {
		t.Fatalf("replicas %+v: want 0, the last above zero 3", shop.Replicas)
	}
	if d := f.deployment(t, "b3", "web"); *d.Spec.Replicas != 0 || d.Status.Replicas != 0 {
		t.Fatalf("web not at 0: %d/%d", *d.Spec.Replicas, d.Status.Replicas)
	}

	// Shown in the environment's detail, and recorded as revisions.
	r := f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Path: envKey("b3"), Query: pk()})
	if !strings.Contains(r.Raw, `{"name":"web","image":"registry.example.com/team/web:2.0","image_name":"web"}`) {
		t.Fatalf("detail containers: %s", r.Raw)
	}
	revs := f.e.Call(lt.Alice, "ListRevisions", lt.Req{Path: envKey("b3"), Query: pk()})
	if !strings.Contains(revs.Raw, `"change":"image Deployment/web container web: registry.example.com/team/web:2.0"`) ||
		!strings.Contains(revs.Raw, `"change":"scale Deployment/web to 0"`) {
		t.Fatalf("revisions: %s", revs.Raw)
	}

	// A global-variable-free services update that renders the same image keeps both...
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b3", "web", "Deployment", 2)}))
	updateTag := func(tag string) {
		f.succeeded(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Path: envKey("b3"), Query: pk(),
			Body: map[string]any{"service_list": []map[string]any{{"service_name": "shop", "variable_kvs": []map[string]any{{"key": "tag", "value": tag}}}}}}))
	}
	updateTag("1.27")
	d := f.deployment(t, "b3", "web")
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/team/web:2.0" {
		t.Fatalf("kept: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	// ...one that renders a new image there names it: it wins, and the
	// environment forgets the override; the replica count stays.
	updateTag("1.28")
	d = f.deployment(t, "b3", "web")
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" {
		t.Fatalf("new image: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	if c := f.stored(t, "b3").Services[0].Containers; len(c) != 0 {
		t.Fatalf("override kept after the templates named a new image: %+v", c)
	}
	rolledOut(t, d, 2)
}

// A StatefulSet's image rolls every replica before the operation ends.
func TestStatefulSetImage(t *testing.T) {
	f := setup(t)
	f.env(t, "b4", false)
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b4", "db", "StatefulSet", 2)}))
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateStatefulSetImage", lt.Req{Path: envKey("b4"),
		Body: imageBody("b4", "shop", "db", "postgres", "postgres:17.2")}))
	s := f.statefulSet(t, "b4", "db")
	if s.Spec.Template.Spec.Containers[0].Image != "postgres:17.2" || s.Status.CurrentRevision != s.Status.UpdateRevision || s.Status.UpdatedReplicas != 2 {
		t.Fatalf("db: %s %+v", s.Spec.Template.Spec.Containers[0].Image, s.Status)
	}
	pods, err := f.c.Typed.CoreV1().Pods(ns("b4")).List(context.Background(), metav1.ListOptions{LabelSelector: "app=db"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image != "postgres:17.2" {
			t.Errorf("pod %s still at %s", p.Name, p.Spec.Containers[0].Image)
		}
	}
}

// Global variables re-apply the services using them: what was set stays,
// unless the new value renders a new image where one was set.
func TestGlobalVariablesKeepWhatWasSet(t *testing.T) {
	f := setup(t)
	f.env(t, "b5", false)
	globals := func(tag string) {
		f.succeeded(t, f.e.Call(lt.Alice, "UpdateEnvironmentVariables", lt.Req{Path: envKey("b5"), Query: pk(),
			Body: map[string]any{"global_variables": []map[string]any{{"key": "tag", "value": tag}}}}))
	}
	globals("1.27")
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Path: envKey("b5"), Query: pk(),
		Body: map[string]any{"service_list": []map[string]any{{"service_name": "shop", "variable_kvs": []map[string]any{{"key": "tag", "use_global_variable": true}}}}}}))
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b5", "web", "Deployment", 2)}))
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b5"),
		Body: imageBody("b5", "shop", "web", "web", "registry.example.com/team/web:3.0")}))
	f.succeeded(t, f.e.Call(lt.Alice, "RestartService", lt.Req{Path: map[string]string{"envKey": "b5", "serviceName": "shop"}, Query: pk()}))
	stamp := f.deployment(t, "b5", "web").Spec.Template.Annotations[restartedAt]

	// The same image rendered: image, replicas and restart stamp stay (no new rollout).
	globals("1.27")
	d := f.deployment(t, "b5", "web")
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/team/web:3.0" || d.Spec.Template.Annotations[restartedAt] != stamp {
		t.Fatalf("after a re-apply: replicas %d image %s stamp %q", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image, d.Spec.Template.Annotations[restartedAt])
	}
	// A value rendering a new image there: the new image wins.
	globals("1.29")
	d = f.deployment(t, "b5", "web")
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.29" {
		t.Fatalf("after a new image: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	if c := f.stored(t, "b5").Services[0].Containers; len(c) != 0 {
		t.Fatalf("override kept: %+v", c)
	}
}

// Scale and image have no production route (the spec's, zadig's): a
// production environment's key there is 404. Scale's optional
// service_name must be the service rendering the workload.
func TestScaleAndImageAreTestRoutes(t *testing.T) {
	f := setup(t)
	f.env(t, "b6", true)
	f.env(t, "b7", false)
	lt.Failed(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("b6", "web", "Deployment", 2)}), 404, "b6")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b6"), Body: imageBody("b6", "shop", "web", "web", "nginx:1.28")}), 404, "b6")
	if d := f.deployment(t, "b6", "web"); *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("production web changed: %d %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	body := scaleBody("b7", "web", "Deployment", 2)
	body["service_name"] = "jobs"
	lt.Failed(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: body}), 404, "web")
	body["service_name"] = "shop"
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: body}))
	rolledOut(t, f.deployment(t, "b7", "web"), 2)
}

// An image set after its templates changed (no operation ran since) is
// set against what they render now, and applied.
func TestImageSetAfterATemplateChange(t *testing.T) {
	f := setup(t)
	f.env(t, "b8", false)
	set := func(image string) {
		f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envKey("b8"), Body: imageBody("b8", "shop", "web", "web", image)}))
	}
	set("registry.example.com/team/web:1.28")
	r := f.e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Path: map[string]string{"serviceName": "shop"}, Query: pk(),
		Body: map[string]any{"yaml": shopTemplate, "variables": []map[string]any{{"key": "tag", "value": "1.29", "type": "string"}}}})
	if r.Status != 200 {
		t.Fatalf("template update: %s", r.Raw)
	}
	set("registry.example.com/team/web:1.30")
	if img := f.deployment(t, "b8", "web").Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/team/web:1.30" {
		t.Fatalf("web runs %s", img)
	}
	if c := f.stored(t, "b8").Services[0].Containers; len(c) != 1 || c[0].Base != "nginx:1.29" {
		t.Fatalf("stored %+v", c)
	}
}
