package credential_test

import (
	"fmt"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Helpers shared by every test file of the package (and the fuzz seeds);
// helpers of one topic open that topic's file.

// kcfg builds a self-contained kubeconfig with one context "c" (cluster k,
// user u); cluster and user are extra 4-space-indented YAML lines.
func kcfg(server, ca, current, cluster, user string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Config\ncurrent-context: %q\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"+
		"clusters:\n- name: k\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n%susers:\n- name: u\n  user:\n%s",
		current, server, ca, cluster, user)
}

func qcBody(ak, sk string) map[string]any {
	return map[string]any{"content": map[string]any{"access_key_id": ak, "secret_access_key": sk}}
}

func tokenBody(server, token, ca string) map[string]any {
	return map[string]any{"content": map[string]any{"server": server, "token": token, "certificate_authority_data": ca}}
}

// with copies body and sets the key/value pairs kv on the copy.
func with(body map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func makeCred(t testing.TB, e *lt.Env, u lt.User, body map[string]any) string {
	t.Helper()
	r := e.Call(u, "CreateRuntimeEnvCredential", lt.Req{Body: body})
	lt.OK(t, r)
	id, _ := r.Body["runtime_env_credential_id"].(string)
	if r.Body["action"] != "CreateRuntimeEnvCredentialResponse" || !strings.HasPrefix(id, "rec-") {
		t.Fatalf("create response %s", r.Raw)
	}
	return id
}

func credPath(id string) map[string]string { return map[string]string{"runtime_env_credential_id": id} }

func envPath(id string) map[string]string { return map[string]string{"runtime_env_id": id} }

// wantErr checks an error answer: status, ret_code and a message naming field.
func wantErr(t testing.TB, what string, r lt.Response, status int, field string) {
	t.Helper()
	msg, _ := r.Body["message"].(string)
	if r.Status != status || r.Body["ret_code"] == float64(0) || !strings.Contains(msg, field) {
		t.Errorf("%s: got %d %s, want %d naming %q", what, r.Status, r.Raw, status, field)
	}
}
