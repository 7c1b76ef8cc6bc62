package workload_test

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// rule is one request that must be refused.
type rule struct {
	user   lt.User // Alice when zero
	action string
	req    lt.Req
	status int
	says   string // what the message must name
}

// with copies body b with kv pairs set; a nil value removes the key.
func with(b map[string]any, kv ...any) map[string]any {
	out := maps.Clone(b)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func envPath(key string) map[string]string { return map[string]string{"envKey": key} }

func restartReq(key, svc string) lt.Req {
	return lt.Req{Path: map[string]string{"envKey": key, "serviceName": svc}, Query: pk()}
}

func eventsQuery(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

// state is what a refused request must leave as it was: the environment's
// operations (none running) and the generation of each workload (any spec
// change bumps it).
func (f fixture) state(t *testing.T, key string, prod bool) string {
	t.Helper()
	action := "GetEnvironment"
	if prod {
		action = "GetProductionEnvironment"
	}
	r := f.e.Call(lt.Alice, action, lt.Req{Path: envPath(key), Query: pk()})
	if r.Status != 200 || r.Body["operation_id"] != nil {
		t.Fatalf("environment %s: want idle, got %d %s", key, r.Status, r.Raw)
	}
	ctx := context.Background()
	cj := map[string]int64{}
	for _, name := range []string{"cleanup", "report"} {
		c, err := f.c.Typed.BatchV1().CronJobs(ns(key)).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cj[name] = c.Generation
	}
	return fmt.Sprintf("last op %v; web %d api %d db %d cleanup %d report %d", r.Body["last_operation_id"],
		f.deployment(t, key, "web").Generation, f.deployment(t, key, "api").Generation, f.statefulSet(t, key, "db").Generation,
		cj["cleanup"], cj["report"])
}

// refuse runs each rule as a subtest and checks it changed none of keys'
// environments (prod[key] tells a production one).
func (f fixture) refuse(t *testing.T, rules map[string]rule, prod map[string]bool, keys ...string) {
	t.Helper()
	before := map[string]string{}
	for _, k := range keys {
		before[k] = f.state(t, k, prod[k])
	}
	for name, c := range rules {
		t.Run(name, func(t *testing.T) {
			u := c.user
			if u == (lt.User{}) {
				u = lt.Alice
			}
			r := f.e.Call(u, c.action, c.req)
			if op, _ := r.Body["operation_id"].(string); op != "" {
				// Accepted by mistake: let it end so the other rules still
				// meet an idle environment.
				f.e.Ended(t, lt.Alice, r, 200*time.Millisecond)
				for _, k := range keys {
					before[k] = f.state(t, k, prod[k])
				}
			}
			lt.Failed(t, r, c.status, c.says)
			for _, k := range keys {
				if now := f.state(t, k, prod[k]); now != before[k] {
					t.Fatalf("environment %s changed: %s, was %s", k, now, before[k])
				}
			}
		})
	}
}

// stray creates a Deployment envhub did not render in namespace.
func (f fixture) stray(t *testing.T, namespace, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "busybox:1.36"}}}}}}
	if _, err := f.c.Typed.AppsV1().Deployments(namespace).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestWorkloadRulesBadInput(t *testing.T) {
	f := setup(t)
	f.env(t, "r1", false)
	f.env(t, "r2", false)
	// A service of the project that the environments do not run.
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: pk(), Body: map[string]any{"service_name": "extra", "yaml": jobsTemplate}}))
	f.stray(t, ns("r1"), "stray") // in r1's namespace, not rendered
	f.stray(t, ns("r2"), "other") // only in the other environment's namespace

	sc := scaleBody("r1", "web", "Deployment", 2)
	scale := func(kv ...any) lt.Req { return lt.Req{Body: with(sc, kv...)} }
	im := imageBody("r1", "shop", "web", "web", "nginx:1.28")
	image := func(kv ...any) lt.Req { return lt.Req{Path: envPath("r1"), Body: with(im, kv...)} }
	ev := func(kv ...string) lt.Req {
		return lt.Req{Query: eventsQuery(append([]string{"projectKey", project, "envName", "r1"}, kv...)...)}
	}
	rules := map[string]rule{
		"scale no project_key":            {action: "ScaleWorkload", req: scale("project_key", nil), status: 400, says: "project_key"},
		"scale empty project_key":         {action: "ScaleWorkload", req: scale("project_key", ""), status: 400, says: "project_key"},
		"scale no env_key":                {action: "ScaleWorkload", req: scale("env_key", nil), status: 400, says: "env_key"},
		"scale empty env_key":             {action: "ScaleWorkload", req: scale("env_key", ""), status: 400, says: "env_key"},
		"scale no workload_name":          {action: "ScaleWorkload", req: scale("workload_name", nil), status: 400, says: "workload_name"},
		"scale empty workload_name":       {action: "ScaleWorkload", req: scale("workload_name", ""), status: 400, says: "workload_name"},
		"scale DaemonSet":                 {action: "ScaleWorkload", req: scale("workload_type", "DaemonSet"), status: 400, says: "workload_type"},
		"scale CronJob":                   {action: "ScaleWorkload", req: scale("workload_type", "CronJob"), status: 400, says: "workload_type"},
		"scale empty type":                {action: "ScaleWorkload", req: scale("workload_type", ""), status: 400, says: "workload_type"},
		"scale lowercase type":            {action: "ScaleWorkload", req: scale("workload_type", "deployment"), status: 400, says: "workload_type"},
		"scale no replicas":               {action: "ScaleWorkload", req: scale("target_replicas", nil), status: 400, says: "target_replicas"},
		"scale -1":                        {action: "ScaleWorkload", req: scale("target_replicas", -1), status: 400, says: "target_replicas"},
		"scale 101":                       {action: "ScaleWorkload", req: scale("target_replicas", 101), status: 400, says: "target_replicas"},
		"scale string replicas":           {action: "ScaleWorkload", req: scale("target_replicas", "3"), status: 400, says: "target_replicas"},
		"scale 1.5":                       {action: "ScaleWorkload", req: scale("target_replicas", 1.5), status: 400, says: "target_replicas"},
		"scale bad project_key":           {action: "ScaleWorkload", req: scale("project_key", "WL!"), status: 400, says: "project_key"},
		"scale unknown project":           {action: "ScaleWorkload", req: scale("project_key", "nope"), status: 404, says: "nope"},
		"restart service not in env":      {action: "RestartService", req: restartReq("r1", "extra"), status: 404, says: "extra"},
		"scale unknown field":             {action: "ScaleWorkload", req: scale("colour", "red"), status: 400, says: "colour"},
		"scale not rendered":              {action: "ScaleWorkload", req: scale("workload_name", "stray"), status: 404, says: "stray"},
		"scale other env's workload":      {action: "ScaleWorkload", req: scale("workload_name", "other"), status: 404, says: "other"},
		"scale bad name":                  {action: "ScaleWorkload", req: scale("workload_name", "Web!"), status: 400, says: "workload_name"},
		"scale wrong kind":                {action: "ScaleWorkload", req: scale("workload_name", "db"), status: 404, says: "db"},
		"scale unknown env":               {action: "ScaleWorkload", req: scale("env_key", "r9"), status: 404, says: "r9"},
		"image tag missing":               {action: "UpdateDeploymentImage", req: image("image", "nginx:"), status: 400, says: "image"},
		"image upper case":                {action: "UpdateDeploymentImage", req: image("image", "team/UPPER:1"), status: 400, says: "image"},
		"image space":                     {action: "UpdateDeploymentImage", req: image("image", "a b"), status: 400, says: "image"},
		"image empty":                     {action: "UpdateDeploymentImage", req: image("image", ""), status: 400, says: "image"},
		"image short digest":              {action: "UpdateDeploymentImage", req: image("image", "nginx@sha256:123"), status: 400, says: "image"},
		"image no container":              {action: "UpdateDeploymentImage", req: image("container_name", "nope"), status: 400, says: "web, sidecar"},
		"image cronjob container":         {action: "UpdateCronJobImage", req: image("service_name", "jobs", "name", "report", "container_name", "nope"), status: 400, says: "report"},
		"image env_name not path":         {action: "UpdateDeploymentImage", req: image("env_name", "r2"), status: 400, says: "env_name"},
		"image no product_name":           {action: "UpdateDeploymentImage", req: image("product_name", nil), status: 400, says: "product_name"},
		"image unknown field":             {action: "UpdateDeploymentImage", req: image("colour", "red"), status: 400, says: "colour"},
		"image service not in env":        {action: "UpdateDeploymentImage", req: image("service_name", "extra"), status: 404, says: "extra"},
		"image unknown service":           {action: "UpdateDeploymentImage", req: image("service_name", "nosuch"), status: 404, says: "nosuch"},
		"image other service's":           {action: "UpdateDeploymentImage", req: image("service_name", "jobs"), status: 404, says: "web"},
		"image statefulset name":          {action: "UpdateDeploymentImage", req: image("name", "db", "container_name", "postgres"), status: 404, says: "db"},
		"image deployment name":           {action: "UpdateStatefulSetImage", req: image(), status: 404, says: "web"},
		"image not rendered":              {action: "UpdateDeploymentImage", req: image("name", "stray", "container_name", "stray"), status: 404, says: "stray"},
		"restart unknown service":         {action: "RestartService", req: restartReq("r1", "nope"), status: 404, says: "nope"},
		"restart no projectKey":           {action: "RestartService", req: lt.Req{Path: map[string]string{"envKey": "r1", "serviceName": "shop"}}, status: 400, says: "projectKey"},
		"restart unknown env":             {action: "RestartService", req: restartReq("nosuch", "shop"), status: 404, says: "nosuch"},
		"image no name":                   {action: "UpdateDeploymentImage", req: image("name", nil), status: 400, says: "name"},
		"image no service_name":           {action: "UpdateDeploymentImage", req: image("service_name", nil), status: 400, says: "service_name"},
		"image empty container_name":      {action: "UpdateDeploymentImage", req: image("container_name", ""), status: 400, says: "container_name"},
		"image cronjob route, Deployment": {action: "UpdateCronJobImage", req: image(), status: 404, says: "web"},
		"image malformed JSON":            {action: "UpdateDeploymentImage", req: lt.Req{Path: envPath("r1"), Body: `{"product_name":`}, status: 400, says: "body"},
		"scale malformed JSON":            {action: "ScaleWorkload", req: lt.Req{Body: `not json`}, status: 400, says: "body"},
		"restart only a CronJob":          {action: "RestartService", req: restartReq("r1", "jobs"), status: 400, says: "serviceName"},
		"restart bad name":                {action: "RestartService", req: restartReq("r1", "Web!"), status: 400, says: "serviceName"},
		"events bad type":                 {action: "ListKubeEvents", req: ev("type", "deployment!"), status: 400, says: "type"},
		"events lowercase type":           {action: "ListKubeEvents", req: ev("type", "pod"), status: 400, says: "type"},
		"events bad name":                 {action: "ListKubeEvents", req: ev("name", "Web!"), status: 400, says: "name"},
		"events unknown parameter":        {action: "ListKubeEvents", req: ev("colour", "red"), status: 400, says: "colour"},
		"events no envName":               {action: "ListKubeEvents", req: lt.Req{Query: pk()}, status: 400, says: "envName"},
		"events unknown environment":      {action: "ListKubeEvents", req: ev("envName", "r9"), status: 404, says: "r9"},
		"events no projectKey":            {action: "ListKubeEvents", req: lt.Req{Query: eventsQuery("envName", "r1")}, status: 400, says: "projectKey"},
	}
	f.refuse(t, rules, nil, "r1", "r2")

	// Not busy: the same changes, valid, go through.
	f.succeeded(t, f.e.Call(lt.Alice, "ScaleWorkload", scale()))
	f.succeeded(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", image()))
	if d := f.deployment(t, "r1", "web"); *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.28" {
		t.Fatalf("r1 web: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	if d := f.deployment(t, "r2", "web"); *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("r2 web changed by r1's changes: replicas %d image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
}

// The production and test restart routes each only reach their own kind
// of environment.
func TestWorkloadRulesProductionTwin(t *testing.T) {
	f := setup(t)
	f.env(t, "r3", true)
	f.env(t, "r4", false)
	f.refuse(t, map[string]rule{
		"test route, production env":  {action: "RestartService", req: restartReq("r3", "shop"), status: 404, says: "r3"},
		"production route, test env":  {action: "RestartProductionService", req: restartReq("r4", "shop"), status: 404, says: "r4"},
		"production, unknown service": {action: "RestartProductionService", req: restartReq("r3", "nope"), status: 404, says: "nope"},
		"production, only a CronJob":  {action: "RestartProductionService", req: restartReq("r3", "jobs"), status: 400, says: "serviceName"},
	}, map[string]bool{"r3": true}, "r3", "r4")

	f.succeeded(t, f.e.Call(lt.Alice, "RestartProductionService", restartReq("r3", "shop")))
	if d := f.deployment(t, "r3", "web"); d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Fatal("production web not restarted")
	}
	if d := f.deployment(t, "r4", "web"); d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != "" {
		t.Fatal("test env restarted by the production route")
	}
	f.succeeded(t, f.e.Call(lt.Alice, "RestartService", restartReq("r4", "shop")))
}

// Bob may read alice's public project but not change it (403); a private
// one is hidden from him (404). An admin changes either.
func TestWorkloadRulesVisibility(t *testing.T) {
	f := setup(t)
	f.env(t, "r5", false)
	scale := lt.Req{Body: scaleBody("r5", "web", "Deployment", 2)}
	image := lt.Req{Path: envPath("r5"), Body: imageBody("r5", "shop", "web", "web", "nginx:1.28")}
	events := lt.Req{Query: eventsQuery("projectKey", project, "envName", "r5")}
	asBob := func(status int) map[string]rule {
		return map[string]rule{
			"scale":   {user: lt.Bob, action: "ScaleWorkload", req: scale, status: status, says: "project"},
			"image":   {user: lt.Bob, action: "UpdateDeploymentImage", req: image, status: status, says: "project"},
			"restart": {user: lt.Bob, action: "RestartService", req: restartReq("r5", "shop"), status: status, says: "project"},
		}
	}

	t.Run("public", func(t *testing.T) {
		f.refuse(t, asBob(403), nil, "r5")
		if r := f.e.Call(lt.Bob, "ListKubeEvents", events); r.Status != 200 || r.List == nil {
			t.Fatalf("bob's events of a public project: %d %s", r.Status, r.Raw)
		}
	})

	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
	t.Run("private", func(t *testing.T) {
		rules := asBob(404)
		rules["events"] = rule{user: lt.Bob, action: "ListKubeEvents", req: events, status: 404, says: "project"}
		f.refuse(t, rules, nil, "r5")
	})

	f.succeeded(t, f.e.Call(lt.Admin, "ScaleWorkload", scale))
	if d := f.deployment(t, "r5", "web"); *d.Spec.Replicas != 2 {
		t.Fatalf("admin's scale: replicas %d", *d.Spec.Replicas)
	}
}

// While an operation runs, other changes are 409; a retry with the same
// Idempotency-Key is the same operation, before, during and after it.
func TestWorkloadRulesBusyAndIdempotency(t *testing.T) {
	f := setup(t)
	f.env(t, "r6", false)
	idem := map[string]string{"Idempotency-Key": "r6-scale"}
	scale := func(n int) lt.Response {
		return f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("r6", "web", "Deployment", n), Headers: idem})
	}
	first := scale(3)
	lt.Success(t, first)
	op := first.Body["operation_id"].(string)

	// All sent before polling the first: it is still running.
	if again := scale(3); again.Status != 200 || again.Body["operation_id"] != op {
		t.Fatalf("retry: %s, first %s", again.Raw, first.Raw)
	}
	// A refused request does not keep its key: retried later, it runs.
	restart := restartReq("r6", "shop")
	restart.Headers = map[string]string{"Idempotency-Key": "r6-restart"}
	lt.Failed(t, f.e.Call(lt.Alice, "RestartService", restart), 409, "busy")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateDeploymentImage", lt.Req{Path: envPath("r6"),
		Body: imageBody("r6", "shop", "web", "web", "nginx:1.28")}), 409, "busy")
	lt.Failed(t, f.e.Call(lt.Alice, "ScaleWorkload", lt.Req{Body: scaleBody("r6", "db", "StatefulSet", 2)}), 409, "busy")
	lt.Failed(t, scale(4), 422, "Idempotency-Key")
	// The key is alice's: bob's request with it is his own, and refused.
	lt.Failed(t, f.e.Call(lt.Bob, "ScaleWorkload", lt.Req{Body: scaleBody("r6", "web", "Deployment", 3), Headers: idem}), 403, "project")

	if done := f.e.Ended(t, lt.Alice, first, 200*time.Millisecond); done["status"] != "succeeded" {
		t.Fatalf("scale ended %v", done)
	}
	d := f.deployment(t, "r6", "web")
	rolledOut(t, d, 3)
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] != "" || d.Spec.Template.Spec.Containers[0].Image != "nginx:1.27" {
		t.Fatalf("a refused change was applied: %v %s", d.Spec.Template.Annotations, d.Spec.Template.Spec.Containers[0].Image)
	}
	if s := f.statefulSet(t, "r6", "db"); *s.Spec.Replicas != 1 {
		t.Fatalf("refused db scale applied: %d", *s.Spec.Replicas)
	}

	// Ended, the key still answers with its operation and starts nothing.
	before := f.state(t, "r6", false)
	if later := scale(3); later.Status != 200 || later.Body["operation_id"] != op {
		t.Fatalf("replay after the end: %s", later.Raw)
	}
	if now := f.state(t, "r6", false); now != before {
		t.Fatalf("replay changed the environment: %s, was %s", now, before)
	}
	f.succeeded(t, f.e.Call(lt.Alice, "RestartService", restart))
}
