package service_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// shopfront is a Deployment of 2 pods behind a NodePort Service and an Ingress.
const shopfront = `apiVersion: apps/v1
kind: Deployment
metadata: {name: $Service$}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec: {containers: [{name: main, image: "nginx:1.27", ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: $Service$}
spec:
  type: NodePort
  selector: {app: $Service$}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $Service$}
spec:
  rules:
  - host: {{ .host }}
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: $Service$, port: {number: 80}}}}]
`

func TestGetEnvironmentService(t *testing.T) {
	f := newEnvFix(t, "det", "public")
	host := f.project + ".example.test"
	lt.Success(t, f.e.Call(lt.Alice, "CreateServiceTemplate", lt.Req{Query: f.q(), Body: map[string]any{"service_name": "front", "yaml": shopfront,
		"variables": []map[string]any{{"key": "replicas", "value": "2", "type": "string"}, {"key": "host", "value": "x.example.test", "type": "string"}}}}))
	f.template(t, "web", deploy)
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("front", "host", host), svc("web")}})
	get := func(u lt.User, name string, q url.Values) lt.Response {
		return f.e.Call(u, "GetEnvironmentService", lt.Req{Query: q, Path: map[string]string{"envKey": "dev", "serviceName": name}})
	}
	with := func(k, v string) url.Values { q := f.q(); q.Set(k, v); return q }

	// The pods come up shortly after the operation: wait for both to run.
	var r lt.Response
	var pods []any
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		r = get(lt.Alice, "front", f.q())
		if r.Status != 200 {
			t.Fatalf("detail: %s", r.Raw)
		}
		scales := r.Body["scales"].([]any)
		if len(scales) == 1 {
			pods = scales[0].(map[string]any)["pods"].([]any)
		}
		running := 0
		for _, p := range pods {
			if p.(map[string]any)["status"] == "Running" {
				running++
			}
		}
		if running == 2 && len(pods) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pods not running: %s", r.Raw)
		}
	}
	b := r.Body
	if b["service_name"] != "front" || b["namespace"] != f.ns("dev") || b["env_name"] != "dev" || b["product_name"] != f.project {
		t.Errorf("environment fields: %s", r.Raw)
	}
	sc := b["scales"].([]any)[0].(map[string]any)
	if sc["name"] != "front" || sc["type"] != "Deployment" || sc["replicas"] != float64(2) || fmt.Sprint(sc["images"]) != "[map[image:nginx:1.27 image_name:nginx name:main]]" {
		t.Errorf("scale %v", sc)
	}
	for _, p := range pods {
		p := p.(map[string]any)
		cs := p["containers"].([]any)
		if p["node_name"] == "" || p["kind"] != "ReplicaSet" || len(cs) != 1 || cs[0].(map[string]any)["status"] != "running" || cs[0].(map[string]any)["name"] != "main" ||
			fmt.Sprint(cs[0].(map[string]any)["ports"]) != "[map[containerPort:80 protocol:TCP]]" {
			t.Errorf("pod %v", p)
		}
	}
	se := b["service_endpoints"].([]any)
	if len(se) != 1 {
		t.Fatalf("service_endpoints %v", se)
	}
	ep := se[0].(map[string]any)["endpoints"].([]any)
	if len(ep) != 1 || ep[0].(map[string]any)["service_port"] != float64(80) || ep[0].(map[string]any)["node_port"].(float64) < 30000 {
		t.Errorf("endpoints %v", ep)
	}
	ing := b["ingress"].([]any)
	if len(ing) != 1 || fmt.Sprint(ing[0].(map[string]any)["host_info"]) != "[map[backends:[map[service_name:front service_port:80]] host:"+host+"]]" {
		t.Errorf("ingress %v", ing)
	}
	if fmt.Sprint(b["cron_jobs"]) != "[]" {
		t.Errorf("cron_jobs %v", b["cron_jobs"])
	}

	// workLoadtype filters workloads; services and ingresses always show.
	r = get(lt.Alice, "front", with("workLoadtype", "StatefulSet"))
	if r.Status != 200 || len(r.Body["scales"].([]any)) != 0 || len(r.Body["service_endpoints"].([]any)) != 1 || len(r.Body["ingress"].([]any)) != 1 {
		t.Errorf("StatefulSet only: %s", r.Raw)
	}
	if r = get(lt.Alice, "front", with("workLoadtype", "Deployment")); r.Status != 200 || len(r.Body["scales"].([]any)) != 1 {
		t.Errorf("Deployment only: %s", r.Raw)
	}
	// Another service's objects are not front's.
	if r = get(lt.Alice, "web", f.q()); r.Status != 200 || len(r.Body["scales"].([]any)) != 1 || len(r.Body["service_endpoints"].([]any)) != 0 {
		t.Errorf("web: %s", r.Raw)
	}
	lt.Failed(t, get(lt.Alice, "front", with("workLoadtype", "Pod")), 400, "workLoadtype")
	lt.Failed(t, get(lt.Alice, "nope", f.q()), 404, "nope")
	lt.Failed(t, get(lt.Alice, "Front", f.q()), 400, "serviceName")
	lt.Failed(t, f.e.Call(lt.Alice, "GetProductionEnvironmentService", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev", "serviceName": "front"}}), 404, "dev")
	if r = get(lt.Bob, "front", f.q()); r.Status != 200 || r.Body["service_name"] != "front" {
		t.Errorf("bob on a public project: %s", r.Raw)
	}
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: f.q(), Body: map[string]any{"visibility": "private"}}))
	lt.Failed(t, get(lt.Bob, "front", f.q()), 404, f.project)
}
