package credential_test

import (
	"net/url"
	"reflect"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// modify sends body as id's ModifyRuntimeEnvCredential, as u.
func modify(e *lt.Env, u lt.User, id string, body any) lt.Response {
	return e.Call(u, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(id), Body: body})
}

// Modify changes only the fields sent, bumps the version, honours an
// optimistic version, and neither modify nor delete reaches a deleted credential.
func TestModify(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	id := makeCred(t, e, lt.Alice, with(qcBody("AK1", "secret-1"), "name", "n1"))
	mine := func(body any) lt.Response { return modify(e, lt.Alice, id, body) }
	expect := func(step string, want map[string]any) {
		t.Helper()
		it := credItem(t, e, id, false)
		for k, v := range want {
			if !reflect.DeepEqual(it[k], v) {
				t.Errorf("%s: %s = %v, want %v", step, k, it[k], v)
			}
		}
	}
	r := mine(map[string]any{"name": "n2", "description": "d2"})
	lt.OK(t, r)
	if r.Body["action"] != "ModifyRuntimeEnvCredentialResponse" || r.Body["runtime_env_credential_id"] != id {
		t.Fatalf("modify response %s", r.Raw)
	}
	expect("rename", map[string]any{"name": "n2", "description": "d2", "version": float64(2),
		"content": map[string]any{"access_key_id": "AK1", "secret_access_key": "******"}})
	lt.OK(t, mine(qcBody("AK2", "secret-2")))
	expect("rotate", map[string]any{"name": "n2", "description": "d2", "runtime": "qingcloud", "version": float64(3),
		"content": map[string]any{"access_key_id": "AK2", "secret_access_key": "******"}})
	// Every field at once, content to another runtime: one version step.
	lt.OK(t, mine(with(tokenBody(lc.Server, lc.Token, lc.CAData), "name", "n3", "description", "d3")))
	expect("to kubernetes, renamed", map[string]any{"name": "n3", "description": "d3", "runtime": "kubernetes", "version": float64(4),
		"content": map[string]any{"server": lc.Server, "token": "******", "certificate_authority_data": lc.CAData}})

	wantErr(t, "stale version", mine(map[string]any{"name": "stale", "version": 3}), 409, "version")
	wantErr(t, "future version", mine(with(qcBody("AK3", "s"), "version", 9)), 409, "version")
	expect("after conflicts", map[string]any{"name": "n3", "runtime": "kubernetes", "version": float64(4)})
	lt.OK(t, mine(map[string]any{"name": "current", "version": 4}))
	expect("current version", map[string]any{"name": "current", "version": float64(5)})

	wantErr(t, "bad path id", modify(e, lt.Alice, "x", map[string]any{}), 400, "runtime_env_credential_id")
	wantErr(t, "delete bad path id", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath("bad")}), 400, "runtime_env_credential_id")
	wantErr(t, "missing", modify(e, lt.Alice, "rec-missing", map[string]any{"name": "x"}), 404, "rec-missing")
	wantErr(t, "delete with a query", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id), Query: url.Values{"force": {"1"}}}), 400, "force")
	r = e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id)})
	lt.OK(t, r)
	if r.Body["action"] != "DeleteRuntimeEnvCredentialResponse" || r.Body["runtime_env_credential_id"] != id {
		t.Fatalf("delete response %s", r.Raw)
	}
	wantErr(t, "modify deleted", mine(map[string]any{"name": "zombie"}), 404, id)
	wantErr(t, "rotate deleted", mine(qcBody("AK", "s")), 404, id)
	wantErr(t, "delete again", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id)}), 404, id)
	wantErr(t, "admin modifies deleted", modify(e, lt.Admin, id, map[string]any{"name": "z"}), 404, id)
}
