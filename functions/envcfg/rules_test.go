package envcfg_test

import (
	"net/url"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Bad input is a 400 naming the field, and changes nothing.
func TestRefusals(t *testing.T) {
	f := setup(t)
	f.env(t, "bad", "")
	before := f.record(t, "bad")
	other := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\ndata: {a: b}\n"
	two := cm("x", "a: b") + "---\n" + cm("y", "a: b")
	for name, c := range map[string]struct {
		body map[string]any
		says string
	}{
		"wrong kind":      {cfgBody("ConfigMap", "x", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {a: b}\n"), "yaml_data"},
		"name mismatch":   {cfgBody("ConfigMap", "y", cm("x", "a: b")), "name"},
		"other namespace": {cfgBody("ConfigMap", "x", other), "namespace"},
		"two objects":     {cfgBody("ConfigMap", "x", two), "yaml_data"},
		"no object":       {cfgBody("ConfigMap", "x", "# nothing\n"), "yaml_data"},
		"not yaml":        {cfgBody("ConfigMap", "x", "{["), "yaml_data"},
		"anchors":         {cfgBody("ConfigMap", "x", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &a {a: b}\n"), "anchor"},
		"bad type":        {cfgBody("Deployment", "x", cm("x", "a: b")), "common_env_cfg_type"},
		"no type":         {cfgBody("", "x", cm("x", "a: b")), "common_env_cfg_type"},
		"bad name":        {cfgBody("ConfigMap", "Not_A_Name", cm("Not_A_Name", "a: b")), "name"},
		"no yaml":         {cfgBody("ConfigMap", "x", ""), "yaml_data"},
		"unknown field":   {map[string]any{"name": "x", "common_env_cfg_type": "ConfigMap", "yaml_data": cm("x", "a: b"), "env_key": "bad"}, "env_key"},
		"cluster refuses": {cfgBody("ConfigMap", "x", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: {\"bad label\": x}}\n"), "yaml_data"},
	} {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvConfig", req("bad", nil, c.body)), 400, c.says)
			if name != "unknown field" && name != "cluster refuses" { // x is not there to update: 404 before the cluster is asked
				b := map[string]any{"env_key": "bad"}
				for k, v := range c.body {
					b[k] = v
				}
				lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvConfig", req("", nil, b)), 400, c.says)
			}
			f.unchanged(t, "bad", before)
		})
	}
	if f.get(t, "bad", "v1", "ConfigMap", "x") != nil {
		t.Fatal("a refused config reached the cluster")
	}
	// The type parameter of the reads and the delete.
	for _, action := range []string{"ListEnvConfigs", "GetEnvConfig", "DeleteEnvConfig"} {
		for _, q := range []url.Values{nil, typed("Pod"), typed("configmap")} {
			lt.Failed(t, f.e.Call(lt.Alice, action, req("bad", q, nil, "web-settings")), 400, "type")
		}
	}
	lt.Failed(t, f.e.Call(lt.Alice, "ListEnvConfigs", req("bad", url.Values{"colour": {"red"}}, nil)), 400, "colour")
	f.unchanged(t, "bad", before)
}

// Another user reads a public project's configs but changes none (403);
// once the project is private, it is hidden (404). The routes of one
// environment type do not reach the other's.
func TestAccess(t *testing.T) {
	f := setup(t)
	f.env(t, "acc", "")
	f.succeeded(t, f.add(lt.Alice, "acc", "ConfigMap", "mine", cm("mine", "a: b")))
	before := f.record(t, "acc")
	lt.Failed(t, f.add(lt.Bob, "acc", "ConfigMap", "bobs", cm("bobs", "a: b")), 403, "project")
	lt.Failed(t, f.put(lt.Bob, "acc", "ConfigMap", "mine", cm("mine", "a: c")), 403, "project")
	lt.Failed(t, f.del(lt.Bob, "acc", "ConfigMap", "mine"), 403, "project")
	f.unchanged(t, "acc", before)
	if r := f.detail(lt.Bob, "acc", "ConfigMap", "mine"); r.Status != 200 {
		t.Fatalf("bob reading a public project's config: %s", r.Raw)
	}
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
	lt.Failed(t, f.detail(lt.Bob, "acc", "ConfigMap", "mine"), 404, project)
	lt.Failed(t, f.e.Call(lt.Bob, "ListEnvConfigs", req("acc", typed("ConfigMap"), nil)), 404, project)
	lt.Failed(t, f.add(lt.Bob, "acc", "ConfigMap", "bobs", cm("bobs", "a: b")), 404, project)
	lt.Failed(t, f.put(lt.Bob, "acc", "ConfigMap", "mine", cm("mine", "a: c")), 404, project)
	// The test routes do not reach a production environment, nor these a test one.
	lt.Failed(t, f.e.Call(lt.Alice, "CreateProductionEnvConfig", req("acc", nil, cfgBody("ConfigMap", "x", cm("x", "a: b")))), 404, "acc")
	lt.Failed(t, f.e.Call(lt.Alice, "GetProductionEnvConfig", req("acc", typed("ConfigMap"), nil, "mine")), 404, "acc")
	f.unchanged(t, "acc", before)
	// An admin changes it.
	f.succeeded(t, f.put(lt.Admin, "acc", "ConfigMap", "mine", cm("mine", "a: admin")))
}

// Production environments have the same routes of their own; the update
// names either kind of environment in its body.
func TestProduction(t *testing.T) {
	f := setup(t)
	f.env(t, "prod", "Production")
	f.succeeded(t, f.e.Call(lt.Alice, "CreateProductionEnvConfig", req("prod", nil, cfgBody("ConfigMap", "game-demo", gameDemo))))
	lt.Failed(t, f.add(lt.Alice, "prod", "ConfigMap", "x", cm("x", "a: b")), 404, "prod")
	r := f.e.Call(lt.Alice, "ListProductionEnvConfigs", req("prod", typed("ConfigMap"), nil))
	found := false
	for _, it := range r.List {
		m := it.(map[string]any)
		found = found || m["name"] == "game-demo" && m["env_name"] == "Production"
	}
	if r.Status != 200 || !found {
		t.Fatalf("production list %s", r.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "ListEnvConfigs", req("prod", typed("ConfigMap"), nil)), 404, "prod")
	d := f.e.Call(lt.Alice, "GetProductionEnvConfig", req("prod", typed("ConfigMap"), nil, "game-demo"))
	if d.Status != 200 || d.Body["configMap_detail"].(map[string]any)["yaml_data"] != gameDemo {
		t.Fatalf("production detail %s", d.Raw)
	}
	f.succeeded(t, f.put(lt.Alice, "prod", "ConfigMap", "game-demo", cm("game-demo", "lives: \"9\"")))
	if live := f.get(t, "prod", "v1", "ConfigMap", "game-demo"); live.Object["data"].(map[string]any)["lives"] != "9" {
		t.Fatalf("production update: %v", live.Object["data"])
	}
	lt.Failed(t, f.del(lt.Alice, "prod", "ConfigMap", "game-demo"), 404, "prod")
	f.deleted(t, f.e.Call(lt.Alice, "DeleteProductionEnvConfig", req("prod", typed("ConfigMap"), nil, "game-demo")))
	if f.get(t, "prod", "v1", "ConfigMap", "game-demo") != nil {
		t.Fatal("the production config is still live")
	}
}

// A busy environment takes no other change (409); a request retried with
// its Idempotency-Key answers with its first operation (the delete in its
// own words), starting it if it never started.
func TestBusyAndReplay(t *testing.T) {
	f := setup(t)
	f.env(t, "busy", "")
	key := map[string]string{"Idempotency-Key": "add-1"}
	add := req("busy", nil, cfgBody("ConfigMap", "first", cm("first", "a: b")))
	add.Headers = key
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	first := f.e.Call(lt.Alice, "CreateEnvConfig", add)
	lt.Success(t, first)
	f.withWorkflow(t, f.e.Deps.Workflow)
	lt.Failed(t, f.add(lt.Alice, "busy", "ConfigMap", "second", cm("second", "a: b")), 409, first.Body["operation_id"].(string))
	again := f.e.Call(lt.Alice, "CreateEnvConfig", add)
	if again.Body["operation_id"] != first.Body["operation_id"] {
		t.Fatalf("replay answered %s", again.Raw)
	}
	f.succeeded(t, again)
	if f.get(t, "busy", "v1", "ConfigMap", "first") == nil || f.get(t, "busy", "v1", "ConfigMap", "second") != nil {
		t.Fatal("the cluster does not hold what was asked")
	}

	del := req("busy", typed("ConfigMap"), nil, "first")
	del.Headers = map[string]string{"Idempotency-Key": "del-1"}
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	d1 := f.e.Call(lt.Alice, "DeleteEnvConfig", del)
	f.withWorkflow(t, f.e.Deps.Workflow)
	d2 := f.e.Call(lt.Alice, "DeleteEnvConfig", del)
	if d1.Body["message"] != float64(200) || d2.Body["message"] != float64(200) || d1.Body["operation_id"] != d2.Body["operation_id"] {
		t.Fatalf("delete and its replay: %s / %s", d1.Raw, d2.Raw)
	}
	f.deleted(t, d2)
	if f.get(t, "busy", "v1", "ConfigMap", "first") != nil {
		t.Fatal("the deleted config is still live")
	}
}
