package envcfg_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

const gameDemo = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: game-demo\ndata:\n  player_initial_lives: \"3\"\n  ui_properties_file_name: \"user-interface.properties\"\n"

// A ConfigMap is added, listed with the namespace's others, shown, updated
// and deleted, each change an operation the cluster follows; objects
// someone else made in the namespace are adopted when a request names them.
func TestConfigMapLifecycle(t *testing.T) {
	f := setup(t)
	f.env(t, "dev", "")
	f.foreign(t, ns("dev"), cm("legacy", "owner: kubectl"))
	f.foreign(t, ns("dev"), cm("legacy-two", "owner: kubectl"))

	f.succeeded(t, f.add(lt.Alice, "dev", "ConfigMap", "game-demo", gameDemo))
	live := f.get(t, "dev", "v1", "ConfigMap", "game-demo")
	if live == nil || live.Object["data"].(map[string]any)["player_initial_lives"] != "3" || live.GetLabels()["s-env"] != "dev" || live.GetLabels()["app.kubernetes.io/managed-by"] != "envhub" {
		t.Fatalf("live ConfigMap %v", live)
	}
	lt.Failed(t, f.add(lt.Alice, "dev", "ConfigMap", "game-demo", gameDemo), 409, "already a config")

	// The list is the namespace's: envhub's, the service's and others', by name.
	r := f.e.Call(lt.Alice, "ListEnvConfigs", req("dev", typed("ConfigMap"), nil))
	if r.Status != 200 {
		t.Fatalf("list %s", r.Raw)
	}
	names := f.names(t, "dev", "ConfigMap")
	for _, want := range []string{"game-demo", "legacy", "legacy-two", "web-settings"} {
		if !contains(names, want) {
			t.Fatalf("list %v lacks %s", names, want)
		}
	}
	if !slices.IsSorted(names) {
		t.Fatalf("list not sorted by name: %v", names)
	}
	for _, it := range r.List {
		m := it.(map[string]any)
		if m["env_name"] != "dev" || m["project_name"] != project || m["common_env_cfg_type"] != "ConfigMap" || m["update_time"].(float64) < 1e9 {
			t.Fatalf("list item %v", m)
		}
	}

	// The environment's config is shown as stored; another object as it lives.
	d := f.detail(lt.Bob, "dev", "ConfigMap", "game-demo") // bob may read a public project
	got, ok := d.Body["configMap_detail"].(map[string]any)
	if d.Status != 200 || !ok || got["yaml_data"] != gameDemo || got["name"] != "game-demo" || got["common_env_cfg_type"] != "ConfigMap" ||
		got["env_key"] != "dev" || got["product_key"] != project || got["created_time"].(float64) < 1e9 {
		t.Fatalf("detail %s", d.Raw)
	}
	if v, present := got["source_detail"]; !present || v != nil {
		t.Fatalf("source_detail %v", v)
	}
	d = f.detail(lt.Alice, "dev", "ConfigMap", "legacy")
	y := d.Body["configMap_detail"].(map[string]any)["yaml_data"].(string)
	if !strings.Contains(y, "owner: kubectl") || !strings.Contains(y, "name: legacy") {
		t.Fatalf("foreign detail %q", y)
	}
	for _, owned := range []string{"managedFields", "uid:", "resourceVersion", "creationTimestamp", "status:"} {
		if strings.Contains(y, owned) {
			t.Fatalf("foreign detail shows %s: %q", owned, y)
		}
	}
	lt.Failed(t, f.detail(lt.Alice, "dev", "ConfigMap", "nothing-here"), 404, "nothing-here")

	// Updated: the cluster follows.
	f.succeeded(t, f.put(lt.Alice, "dev", "ConfigMap", "game-demo", strings.Replace(gameDemo, `"3"`, `"5"`, 1)))
	if live := f.get(t, "dev", "v1", "ConfigMap", "game-demo"); live.Object["data"].(map[string]any)["player_initial_lives"] != "5" {
		t.Fatalf("after the update %v", live.Object["data"])
	}
	lt.Failed(t, f.put(lt.Alice, "dev", "ConfigMap", "nothing-here", cm("nothing-here", "a: b")), 404, "nothing-here")

	// Adopted, by update and by add: envhub's from then on.
	f.succeeded(t, f.put(lt.Alice, "dev", "ConfigMap", "legacy", cm("legacy", "owner: envhub")))
	f.succeeded(t, f.add(lt.Alice, "dev", "ConfigMap", "legacy-two", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: legacy-two, namespace: "+ns("dev")+"}\ndata: {owner: envhub}\n"))
	for _, name := range []string{"legacy", "legacy-two"} {
		live := f.get(t, "dev", "v1", "ConfigMap", name)
		if live.Object["data"].(map[string]any)["owner"] != "envhub" || live.GetLabels()["s-env"] != "dev" {
			t.Fatalf("adopted %s: %v %v", name, live.Object["data"], live.GetLabels())
		}
	}
	if got := len(f.record(t, "dev").Configs); got != 3 {
		t.Fatalf("%d configs stored, want 3", got)
	}

	// Deleted: gone from the environment and from the namespace.
	f.deleted(t, f.del(lt.Alice, "dev", "ConfigMap", "game-demo"))
	if live := f.get(t, "dev", "v1", "ConfigMap", "game-demo"); live != nil {
		t.Fatal("the deleted config is still live")
	}
	if got := len(f.record(t, "dev").Configs); got != 2 {
		t.Fatalf("%d configs stored after the delete, want 2", got)
	}
	lt.Failed(t, f.detail(lt.Alice, "dev", "ConfigMap", "game-demo"), 404, "game-demo")
}

// Deletes: a service's object is the service's (409), an object someone
// else made is deleted when named explicitly, nothing is a 404.
func TestDeleteRules(t *testing.T) {
	f := setup(t)
	f.env(t, "del", "")
	before := f.record(t, "del")
	lt.Failed(t, f.del(lt.Alice, "del", "ConfigMap", "web-settings"), 409, "service web")
	f.unchanged(t, "del", before)
	if f.get(t, "del", "v1", "ConfigMap", "web-settings") == nil {
		t.Fatal("the service's ConfigMap went")
	}
	lt.Failed(t, f.del(lt.Alice, "del", "ConfigMap", "nothing-here"), 404, "nothing-here")
	lt.Failed(t, f.del(lt.Alice, "del", "Deployment", "web"), 400, "type")
	lt.Failed(t, f.e.Call(lt.Alice, "DeleteEnvConfig", req("del", nil, nil, "web-settings")), 400, "type")
	lt.Failed(t, f.del(lt.Alice, "del", "ConfigMap", "Not_A_Name"), 400, "cfgName")
	f.unchanged(t, "del", before)

	f.foreign(t, ns("del"), cm("stray", "owner: kubectl"))
	f.foreign(t, ns("del"), "apiVersion: v1\nkind: Secret\nmetadata: {name: stray-secret}\nstringData: {k: v}\n")
	f.deleted(t, f.del(lt.Alice, "del", "ConfigMap", "stray"))
	f.deleted(t, f.del(lt.Alice, "del", "Secret", "stray-secret"))
	if f.get(t, "del", "v1", "ConfigMap", "stray") != nil || f.get(t, "del", "v1", "Secret", "stray-secret") != nil {
		t.Fatal("the foreign objects named explicitly are still there")
	}
	if f.get(t, "del", "v1", "ConfigMap", "web-settings") == nil {
		t.Fatal("deleting a foreign object pruned the service's")
	}
	applied, err := f.e.Deps.Store.AllApplied(t.Context(), before.ID)
	if err != nil || len(applied) != 1 || applied[0].Name != "web-settings" {
		t.Fatalf("applied set %v %v", applied, err)
	}
	if done := f.wait(t, f.record(t, "del").LastOperation); fmt.Sprint(done["plan"]) != "map[applied:1 apply:0 chunks:1 prune:1]" {
		t.Errorf("plan of a foreign delete %v", done["plan"])
	}
}
