package envcfg_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// gapKey is an env key unique to the run: other tests share the cluster
// (the fixture's project key is fixed, so its namespaces are told apart
// by env key).
func gapKey(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// gapState is what a refused change must leave as it was: the stored
// version and running operation, the configs stored, and the revisions
// the environment lists.
func (f fixture) gapState(t *testing.T, key string, prod bool) string {
	t.Helper()
	e := f.record(t, key)
	list := "ListRevisions"
	if prod {
		list = "ListProductionRevisions"
	}
	r := f.e.Call(lt.Alice, list, lt.Req{Query: pk(), Path: map[string]string{"envKey": key}})
	if r.Status != 200 {
		t.Fatalf("%s: %s", list, r.Raw)
	}
	var cfgs []string
	for _, c := range e.Configs {
		cfgs = append(cfgs, fmt.Sprintf("%+v", c))
	}
	return fmt.Sprintf("version %d operation %q configs %v revisions %s", e.Version, e.OperationID, cfgs, r.Raw)
}

// busyWith records a CreateEnvConfig (or CreateProductionEnvConfig) of a
// ConfigMap "pending" whose execution never starts, leaving the
// environment busy; replaying the returned request starts it.
func (f fixture) busyWith(t *testing.T, action, key string) (string, lt.Req) {
	t.Helper()
	add := req(key, nil, cfgBody("ConfigMap", "pending", cm("pending", "a: b")))
	add.Headers = map[string]string{"Idempotency-Key": "busy-" + key}
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	r := f.e.Call(lt.Alice, action, add)
	lt.Success(t, r)
	f.withWorkflow(t, f.e.Deps.Workflow)
	return r.Body["operation_id"].(string), add
}

// A busy environment takes no update or delete of its configs (409 naming
// the running operation), test or production, and the refusal changes
// nothing: not the store, not the revisions, not the cluster.
func TestGapEnvcfgBusy(t *testing.T) {
	f := setup(t)
	for _, c := range []struct {
		prod           bool
		envName        string
		create, delete string
	}{
		{false, "", "CreateEnvConfig", "DeleteEnvConfig"},
		{true, "Production", "CreateProductionEnvConfig", "DeleteProductionEnvConfig"},
	} {
		key := gapKey("gb")
		t.Run(fmt.Sprint("production=", c.prod), func(t *testing.T) {
			f.env(t, key, c.envName)
			f.succeeded(t, f.e.Call(lt.Alice, c.create, req(key, nil, cfgBody("ConfigMap", "mine", cm("mine", "a: before")))))
			op, replay := f.busyWith(t, c.create, key)
			before := f.gapState(t, key, c.prod)

			// UpdateEnvConfig names either kind of environment in its body.
			lt.Failed(t, f.put(lt.Alice, key, "ConfigMap", "mine", cm("mine", "a: after")), 409, op)
			lt.Failed(t, f.e.Call(lt.Alice, c.delete, req(key, typed("ConfigMap"), nil, "mine")), 409, op)
			if after := f.gapState(t, key, c.prod); after != before {
				t.Fatalf("a refused change changed the environment:\n%s\n->\n%s", before, after)
			}

			// The busy change, replayed, runs; the refused ones never do.
			again := f.e.Call(lt.Alice, c.create, replay)
			if again.Body["operation_id"] != op {
				t.Fatalf("replay answered %s", again.Raw)
			}
			f.succeeded(t, again)
			live := f.get(t, key, "v1", "ConfigMap", "mine")
			if live == nil || live.Object["data"].(map[string]any)["a"] != "before" {
				t.Fatalf("mine after refused changes: %v", live)
			}
			if f.get(t, key, "v1", "ConfigMap", "pending") == nil {
				t.Fatal("the busy change did not apply")
			}
			if got := len(f.record(t, key).Configs); got != 2 {
				t.Fatalf("%d configs stored, want mine and pending", got)
			}
		})
	}
}

// UpdateEnvConfig needs env_key (400); the production list, detail and
// delete refuse a bad or missing type (400) and change nothing.
func TestGapEnvcfgInput(t *testing.T) {
	f := setup(t)
	key := gapKey("gi")
	f.env(t, key, "Production")
	f.succeeded(t, f.e.Call(lt.Alice, "CreateProductionEnvConfig", req(key, nil, cfgBody("ConfigMap", "mine", cm("mine", "a: b")))))
	before := f.gapState(t, key, true)

	for name, body := range map[string]map[string]any{
		"no env_key":    cfgBody("ConfigMap", "mine", cm("mine", "a: c")),
		"empty env_key": {"env_key": "", "name": "mine", "common_env_cfg_type": "ConfigMap", "yaml_data": cm("mine", "a: c")},
	} {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvConfig", req("", nil, body)), 400, "env_key")
		})
	}
	for _, action := range []string{"ListProductionEnvConfigs", "GetProductionEnvConfig", "DeleteProductionEnvConfig"} {
		for _, q := range []url.Values{nil, typed("Pod"), typed("configmap"), typed("")} {
			t.Run(fmt.Sprintf("%s %v", action, q), func(t *testing.T) {
				lt.Failed(t, f.e.Call(lt.Alice, action, req(key, q, nil, "mine")), 400, "type")
			})
		}
	}
	if after := f.gapState(t, key, true); after != before {
		t.Fatalf("a refused request changed the environment:\n%s\n->\n%s", before, after)
	}
	if live := f.get(t, key, "v1", "ConfigMap", "mine"); live == nil || live.Object["data"].(map[string]any)["a"] != "b" {
		t.Fatalf("mine after refused requests: %v", live)
	}
	// The right type still reads and deletes it.
	if d := f.e.Call(lt.Alice, "GetProductionEnvConfig", req(key, typed("ConfigMap"), nil, "mine")); d.Status != 200 {
		t.Fatalf("production detail: %s", d.Raw)
	}
	f.deleted(t, f.e.Call(lt.Alice, "DeleteProductionEnvConfig", req(key, typed("ConfigMap"), nil, "mine")))
}
