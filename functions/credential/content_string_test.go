package credential_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// asString is content's object as the spec's String form: its JSON in a string.
func asString(t testing.TB, content any) string {
	t.Helper()
	b, err := json.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// content may be a JSON-encoded string of the object: it means the same as
// the object, on create and on modify.
func TestContentAsString(t *testing.T) {
	e := lt.New(t)
	api := httptest.NewTLSServer(http.HandlerFunc(fakeAPIServer))
	defer api.Close()
	ca := httptestCA(api)
	qc := map[string]any{"access_key_id": "QYSTRING", "secret_access_key": "s"}
	token := map[string]any{"server": api.URL, "token": "t", "certificate_authority_data": ca}
	kube := map[string]any{"kubeconfig": kcfg(api.URL, ca, "c", "", "    token: t\n")}

	for _, c := range []struct {
		name, runtime string
		content       map[string]any
		shown         map[string]any
	}{
		{"qingcloud", "qingcloud", qc, map[string]any{"access_key_id": "QYSTRING", "secret_access_key": "******"}},
		{"token", "kubernetes", token, map[string]any{"server": api.URL, "token": "******", "certificate_authority_data": ca}},
		{"kubeconfig", "kubernetes", kube, map[string]any{"server": api.URL, "kubeconfig": "******"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := makeCred(t, e, lt.Alice, map[string]any{"content": asString(t, c.content)})
			it := credItem(t, e, id, false)
			if it["runtime"] != c.runtime || !reflect.DeepEqual(it["content"], c.shown) {
				t.Errorf("created from a string: %v", it)
			}
			// Rotating with the string form too.
			lt.OK(t, modify(e, lt.Alice, id, map[string]any{"content": asString(t, c.content)}))
			if it := credItem(t, e, id, false); it["version"] != float64(2) || !reflect.DeepEqual(it["content"], c.shown) {
				t.Errorf("rotated from a string: %v", it)
			}
		})
	}

	// A kubeconfig as the string itself, as OpenPitrix clients send one.
	raw := makeCred(t, e, lt.Alice, map[string]any{"content": kube["kubeconfig"]})
	if it := credItem(t, e, raw, false); it["runtime"] != "kubernetes" || !reflect.DeepEqual(it["content"], map[string]any{"server": api.URL, "kubeconfig": "******"}) {
		t.Errorf("created from a bare kubeconfig: %v", it)
	}

	seed := makeCred(t, e, lt.Alice, map[string]any{"content": qc, "name": "seed"})
	for _, c := range []struct {
		name    string
		content any
		field   string
	}{
		{"not JSON", "abc", "content"},
		{"empty string", "", "content"},
		{"null inside", "null", "content"},
		{"array inside", `[{"access_key_id":"a","secret_access_key":"s"}]`, "content"},
		{"string inside", asString(t, asString(t, qc)), "content"},
		{"number field", `{"access_key_id":1,"secret_access_key":"s"}`, "content"},
		{"object field", `{"access_key_id":{},"secret_access_key":"s"}`, "content"},
		{"trailing data", asString(t, qc) + " x", "content"},
		{"two objects", asString(t, qc) + asString(t, qc), "content"},
		{"truncated", `{"access_key_id":"a"`, "content"},
		{"empty object", "{}", "content"},
		{"unknown shape", `{"foo":"bar"}`, "content"},
		{"empty value", `{"access_key_id":"","secret_access_key":"s"}`, "content.access_key_id"},
		{"metadata server", asString(t, map[string]any{"server": "https://169.254.169.254", "token": "t", "certificate_authority_data": ca}), "content.server"},
		// The object form keeps its own checks and messages.
		{"object with a number", map[string]any{"access_key_id": 1, "secret_access_key": "s"}, "content"},
		{"array", []any{qc}, "content"},
		{"number", 7, "content"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"content": c.content}
			wantErr(t, "create", e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: body}), 400, c.field)
			wantErr(t, "modify", modify(e, lt.Alice, seed, body), 400, c.field)
		})
	}
	if n := credTotal(t, e); n != 5 {
		t.Errorf("bad content stored credentials: total %v", n)
	}
	if it := credItem(t, e, seed, false); it["version"] != float64(1) {
		t.Errorf("bad content changed the seed: %v", it)
	}

	// null content is absent: required on create, left alone on modify.
	wantErr(t, "create null", e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": nil}}), 400, "content")
	lt.OK(t, modify(e, lt.Alice, seed, map[string]any{"content": nil, "name": "renamed"}))
	if it := credItem(t, e, seed, false); it["name"] != "renamed" || it["content"].(map[string]any)["access_key_id"] != "QYSTRING" {
		t.Errorf("null content on modify: %v", it)
	}
	// Unknown fields beside content are still refused.
	wantErr(t, "unknown field", e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": asString(t, qc), "colour": "red"}}), 400, "colour")
}
