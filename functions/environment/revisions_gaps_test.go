package environment_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// gapCreate creates a test or production environment of web (2 replicas,
// from the global variable) and a ConfigMap, and waits for it.
func (f fixture) gapCreate(t *testing.T, key string, prod bool) {
	t.Helper()
	body, action := f.body(key, "web"), "CreateEnvironment"
	if prod {
		body["env_name"], action = "Production", "CreateProductionEnvironment"
	}
	t.Cleanup(func() { _ = f.c.DeleteNamespace(context.Background(), "shop-env-"+key, false) })
	r := f.e.Call(lt.Alice, action, lt.Req{Query: pk(), Body: body})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("%s ended %v", action, done)
	}
}

// gapVars sets the environment's replicas (UpdateEnvironmentVariables or
// its production twin); headers may hold an Idempotency-Key.
func (f fixture) gapVars(action, key, replicas string, headers map[string]string) lt.Response {
	return f.e.Call(lt.Alice, action, lt.Req{Query: pk(), Path: map[string]string{"envKey": key}, Headers: headers,
		Body: map[string]any{"global_variables": []map[string]any{{"key": "replicas", "value": replicas}}}})
}

// gapState is what a refused rollback must leave as it was: the stored
// version and running operation, the variables and the revisions listed.
func (f fixture) gapState(t *testing.T, key string, prod bool) string {
	t.Helper()
	list, vars := "ListRevisions", "GetEnvironmentVariables"
	if prod {
		list, vars = "ListProductionRevisions", "GetProductionEnvironmentVariables"
	}
	e := f.record(t, key)
	r, _ := f.revisions(t, list, key, nil)
	v := f.e.Call(lt.Alice, vars, lt.Req{Query: pk(), Path: map[string]string{"envKey": key}})
	return fmt.Sprintf("version %d operation %q services %d variables %s revisions %s", e.Version, e.OperationID, len(e.Services), v.Raw, r.Raw)
}

// gapBusyRollback makes the environment busy with a variables update whose
// execution never starts, checks a rollback is then refused (409 naming
// that operation) without changing anything, and lets the update run.
func (f fixture) gapBusyRollback(t *testing.T, key string, prod bool) {
	t.Helper()
	update, rollback := "UpdateEnvironmentVariables", "RollbackRevision"
	if prod {
		update, rollback = "UpdateProductionEnvironmentVariables", "RollbackProductionRevision"
	}
	idem := map[string]string{"Idempotency-Key": "busy-" + key}
	f.withWorkflow(t, lostStart{f.e.Deps.Workflow})
	busy := f.gapVars(update, key, "4", idem)
	lt.Success(t, busy)
	f.withWorkflow(t, f.e.Deps.Workflow)
	op := busy.Body["operation_id"].(string)
	before := f.gapState(t, key, prod)
	lt.Failed(t, f.e.Call(lt.Alice, rollback, lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": "1"}}), 409, op)
	if after := f.gapState(t, key, prod); after != before {
		t.Fatalf("a refused rollback changed the environment:\n%s\n->\n%s", before, after)
	}
	again := f.gapVars(update, key, "4", idem)
	if again.Body["operation_id"] != op {
		t.Fatalf("replay answered %s", again.Raw)
	}
	f.operation(t, again, "succeeded", "apply 1 prune 0")
	if n := f.webReplicas(t, "shop-env-"+key); n != 4 {
		t.Fatalf("web has %d replicas after the busy update, want 4 (the refused rollback ran?)", n)
	}
}

// A rollback while another change runs is refused and changes nothing.
func TestGapRollbackBusy(t *testing.T) {
	f := setup(t)
	key := revKey("gbz")
	f.gapCreate(t, key, false)
	f.operation(t, f.gapVars("UpdateEnvironmentVariables", key, "3", nil), "succeeded", "apply 1 prune 0")
	f.gapBusyRollback(t, key, false)
	if _, revs := f.revisions(t, "ListRevisions", key, nil); fmt.Sprint(revs) != "[3:update:global_variables 2:update:global_variables 1:create:]" {
		t.Fatalf("revisions %v", revs)
	}
}

// A production environment's revisions read, and roll back on the
// cluster, through its own routes; busy, it refuses the rollback.
func TestGapProductionRevisions(t *testing.T) {
	f := setup(t)
	key := revKey("gpr")
	ns := "shop-env-" + key
	path := func(n string) map[string]string { return map[string]string{"envKey": key, "n": n} }
	f.gapCreate(t, key, true)
	update := f.gapVars("UpdateProductionEnvironmentVariables", key, "3", nil)
	f.operation(t, update, "succeeded", "apply 1 prune 0")
	if n := f.webReplicas(t, ns); n != 3 {
		t.Fatalf("web has %d replicas after the update", n)
	}

	r := f.e.Call(lt.Alice, "GetProductionRevision", lt.Req{Query: pk(), Path: path("2")})
	if r.Status != 200 || r.Body["revision"] != float64(2) || r.Body["operation_id"] != update.Body["operation_id"] {
		t.Fatalf("production revision 2: %s", r.Raw)
	}
	var changes []string
	for _, c := range r.Body["changes"].([]any) {
		m := c.(map[string]any)
		changes = append(changes, fmt.Sprintf("%v/%v %v", m["kind"], m["name"], m["change"]))
	}
	diff, _ := r.Body["diff"].(string)
	if fmt.Sprint(changes) != "[Deployment/web changed]" || !strings.Contains(diff, "-  replicas: 2") || !strings.Contains(diff, "+  replicas: 3") {
		t.Errorf("production revision 2: changes %v, diff:\n%s", changes, diff)
	}
	if fmt.Sprint(r.Body["global_variables"]) != "[map[key:replicas value:3]]" || len(r.Body["services"].([]any)) != 1 {
		t.Errorf("production revision 2 state: %s", r.Raw)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "GetProductionRevision", lt.Req{Query: pk(), Path: path("9")}), 404, "9")
	lt.Failed(t, f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: path("2")}), 404, key)
	lt.Failed(t, f.e.Call(lt.Alice, "RollbackRevision", lt.Req{Query: pk(), Path: path("1")}), 404, key)

	f.gapBusyRollback(t, key, true) // revision 3: replicas 4

	// Rolled back to 1: the cluster and the variables are as they were.
	rb := f.e.Call(lt.Alice, "RollbackProductionRevision", lt.Req{Query: pk(), Path: path("1")})
	f.operation(t, rb, "succeeded", "apply 2 prune 0")
	if n := f.webReplicas(t, ns); n != 2 {
		t.Fatalf("production web has %d replicas after the rollback, want 2", n)
	}
	if _, revs := f.revisions(t, "ListProductionRevisions", key, nil); fmt.Sprint(revs) != "[4:update:rollback to revision 1 3:update:global_variables 2:update:global_variables 1:create:]" {
		t.Fatalf("production revisions after the rollback %v", revs)
	}
	if v := f.e.Call(lt.Alice, "GetProductionEnvironmentVariables", lt.Req{Query: pk(), Path: path("")}); !strings.Contains(v.Raw, `"key":"replicas","value":"2"`) {
		t.Errorf("production variables after the rollback: %s", v.Raw)
	}
	if r := f.e.Call(lt.Alice, "GetProductionRevision", lt.Req{Query: pk(), Path: path("4")}); r.Body["operation_id"] != rb.Body["operation_id"] || !strings.Contains(r.Body["diff"].(string), "+  replicas: 2") {
		t.Errorf("production revision 4: %s", r.Raw)
	}
}

// gapChanges lists a revision's changes as "Kind/name change".
func gapChanges(t *testing.T, r lt.Response) []string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("revision: %s", r.Raw)
	}
	var out []string
	for _, c := range r.Body["changes"].([]any) {
		m := c.(map[string]any)
		out = append(out, fmt.Sprintf("%v/%v %v", m["kind"], m["name"], m["change"]))
	}
	return out
}

// Env config changes record revisions: a ConfigMap added shows as added;
// a Secret updated shows its changed value only as "****** (changed)".
func TestGapEnvConfigRevisions(t *testing.T) {
	f := setup(t)
	key := revKey("gec")
	f.gapCreate(t, key, false)
	rev := func(n string) lt.Response {
		return f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": n}})
	}
	cfgPath := map[string]string{"envKey": key}
	add := func(typ, name, yaml string) lt.Response {
		return f.e.Call(lt.Alice, "CreateEnvConfig", lt.Req{Query: pk(), Path: cfgPath, Body: map[string]any{"name": name, "common_env_cfg_type": typ, "yaml_data": yaml}})
	}

	// Every env config re-applies (settings and extra); only extra is new.
	r := add("ConfigMap", "extra", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {colour: blue}\n")
	f.operation(t, r, "succeeded", "apply 2 prune 0")
	r2 := rev("2")
	changes := gapChanges(t, r2)
	if !slices.Contains(changes, "ConfigMap/extra added") || slices.ContainsFunc(changes, func(c string) bool { return strings.HasPrefix(c, "ConfigMap/settings") }) {
		t.Errorf("revision 2 changes %v", changes)
	}
	if r2.Body["operation_id"] != r.Body["operation_id"] || !strings.Contains(r2.Body["diff"].(string), "+  colour: blue") {
		t.Errorf("revision 2: %s", r2.Raw)
	}
	if _, revs := f.revisions(t, "ListRevisions", key, nil); fmt.Sprint(revs) != "[2:update:envcfg add ConfigMap/extra 1:create:]" {
		t.Errorf("revisions %v", revs)
	}

	const first, second = "first-pw-7f3a91", "second-pw-c04e2b"
	secret := func(pw string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: " + pw + ", user: admin}\n"
	}
	f.operation(t, add("Secret", "db", secret(first)), "succeeded", "apply 3 prune 0")
	up := f.e.Call(lt.Alice, "UpdateEnvConfig", lt.Req{Query: pk(), Body: map[string]any{"env_key": key, "name": "db", "common_env_cfg_type": "Secret", "yaml_data": secret(second)}})
	f.operation(t, up, "succeeded", "apply 3 prune 0")
	r4 := rev("4")
	if got := gapChanges(t, r4); fmt.Sprint(got) != "[Secret/db changed]" {
		t.Errorf("revision 4 changes %v", got)
	}
	diff, _ := r4.Body["diff"].(string)
	if !strings.Contains(diff, "****** (changed)") {
		t.Errorf("revision 4 diff does not mark the changed value:\n%s", diff)
	}
	for _, line := range strings.Split(diff, "\n") {
		if strings.Contains(line, "user:") && strings.Contains(line, "(changed)") {
			t.Errorf("the unchanged user is marked changed: %q\n%s", line, diff)
		}
	}
	for _, n := range []string{"3", "4"} {
		r := rev(n)
		for _, leak := range []string{first, second, base64.StdEncoding.EncodeToString([]byte(first)), base64.StdEncoding.EncodeToString([]byte(second))} {
			if strings.Contains(r.Raw, leak) {
				t.Fatalf("revision %s shows a Secret's value: %s", n, r.Raw)
			}
		}
	}
}

// A revision lists as changed only what changed: a change that leaves a
// service alone (an env config added, another service added) does not
// list that service's objects.
func TestGapRevisionListsOnlyWhatChanged(t *testing.T) {
	f := setup(t)
	key := revKey("gon")
	f.gapCreate(t, key, false)
	f.operation(t, f.e.Call(lt.Alice, "CreateEnvConfig", lt.Req{Query: pk(), Path: map[string]string{"envKey": key},
		Body: map[string]any{"name": "extra", "common_env_cfg_type": "ConfigMap", "yaml_data": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n"}}), "succeeded", "apply 2 prune 0")
	f.operation(t, f.e.Call(lt.Alice, "AddEnvironmentServices", lt.Req{Query: pk(), Body: map[string]any{"env_key": key,
		"service_list": []map[string]any{{"service_name": "api", "variable_kvs": []map[string]any{{"key": "replicas", "use_global_variable": true}}}}}}), "succeeded", "apply 1 prune 0")
	for n, want := range map[string]string{"2": "[ConfigMap/extra added]", "3": "[Deployment/api added]"} {
		r := f.e.Call(lt.Alice, "GetRevision", lt.Req{Query: pk(), Path: map[string]string{"envKey": key, "n": n}})
		if got := gapChanges(t, r); fmt.Sprint(got) != want {
			t.Errorf("revision %s changes %v, want %s; diff:\n%s", n, got, want, r.Body["diff"])
		}
	}
}
