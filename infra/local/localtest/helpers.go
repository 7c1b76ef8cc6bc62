package localtest

import (
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/netguard"
)

// Success fails t unless r is the environment API's {"message":"success"}.
func Success(t testing.TB, r Response) {
	t.Helper()
	if r.Status != 200 || r.Body["message"] != "success" {
		t.Fatalf("want success, got %d %s", r.Status, r.Raw)
	}
}

// Failed checks an environment-API error: status, the {code, message,
// description} body, and that the message names what was wrong.
func Failed(t testing.TB, r Response, status int, says string) {
	t.Helper()
	if r.Status != status || r.Body["code"] != float64(status) || r.Body["description"] == "" {
		t.Fatalf("got %d %s, want %d", r.Status, r.Raw, status)
	}
	if msg, _ := r.Body["message"].(string); !strings.Contains(msg, says) {
		t.Fatalf("message %q does not name %q", msg, says)
	}
}

// RuntimeEnv creates a runtime env as u (defaults: kubernetes, name "env",
// https://k8s.example.com:6443, zone default; kv pairs override) and returns its id.
func (e *Env) RuntimeEnv(t testing.TB, u User, kv ...string) string {
	t.Helper()
	body := map[string]any{"runtime": "kubernetes", "name": "env", "endpoint": "https://k8s.example.com:6443", "zone": "default"}
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i]] = kv[i+1]
	}
	r := e.Call(u, "CreateRuntimeEnv", Req{Body: body})
	OK(t, r)
	return r.Body["runtime_env_id"].(string)
}

// LocalRuntimeEnv registers the local control plane as a public kubernetes
// runtime env (the admin's, its credential attached), and returns its id and
// a client of the cluster as system:masters.
func (e *Env) LocalRuntimeEnv(t testing.TB, kv ...string) (string, *cluster.Cluster) {
	t.Helper()
	lc := LocalCluster(t)
	c, err := cluster.New(lc.Server, lc.Content(), netguard.Policy{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	id := e.RuntimeEnv(t, Admin, append([]string{"name", "local", "endpoint", lc.Server, "visibility", "public"}, kv...)...)
	r := e.Call(Admin, "CreateRuntimeEnvCredential", Req{Body: map[string]any{"content": lc.Content()}})
	OK(t, r)
	OK(t, e.Call(Admin, "AttachCredentialToRuntimeEnv", Req{Path: map[string]string{"runtime_env_id": id, "runtime_env_credential_id": r.Body["runtime_env_credential_id"].(string)}}))
	return id, c
}

// Ended checks r started an operation and polls it (as u) every so often
// until it ends, returning its last state.
func (e *Env) Ended(t testing.TB, u User, r Response, every time.Duration) map[string]any {
	t.Helper()
	op, _ := r.Body["operation_id"].(string)
	if r.Status != 200 || op == "" || r.Body["message"] != "success" {
		t.Fatalf("want an operation, got %d %s", r.Status, r.Raw)
	}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(every) {
		got := e.Call(u, "GetOperation", Req{Path: map[string]string{"operation_id": op}})
		if got.Status != 200 {
			t.Fatalf("operation %s: %s", op, got.Raw)
		}
		if got.Body["status"] != "running" {
			return got.Body
		}
	}
	t.Fatalf("operation %s still running", op)
	return nil
}
