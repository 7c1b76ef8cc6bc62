package credential_test

import (
	"net/url"
	"strings"
	"sync"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/qingcloud"
)

func link(e *lt.Env, u lt.User, action, env, cred string) lt.Response {
	return e.Call(u, action, lt.Req{Path: map[string]string{"runtime_env_id": env, "runtime_env_credential_id": cred}})
}

func attachedTo(t *testing.T, e *lt.Env, u lt.User, env string) []any {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvs", lt.Req{Query: url.Values{"runtime_env_ids": {env}, "verbose": {"1"}, "status": {"active", "deleted"}}})
	lt.OK(t, r)
	return r.Body["runtime_env_set"].([]any)[0].(map[string]any)["runtime_env_credential_ids"].([]any)
}

func TestAttachDetach(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	k8s := func() map[string]any { return map[string]any{"content": anyMap(lc.Content())} }
	env := newEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "public")
	env2 := newEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private")
	cred := newCred(t, e, lt.Alice, k8s())
	other := newCred(t, e, lt.Alice, k8s())
	qc := newCred(t, e, lt.Alice, map[string]any{"content": qcContent("a", "s")})
	bobs := newCred(t, e, lt.Bob, k8s())
	bobEnv := newEnv(t, e, lt.Bob, "kubernetes", lc.Server, "default", "private")
	elsewhere := newEnv(t, e, lt.Alice, "kubernetes", "https://127.0.0.1:1", "default", "private")

	r := link(e, lt.Alice, "AttachCredentialToRuntimeEnv", env, cred)
	lt.OK(t, r)
	if r.Body["action"] != "AttachCredentialToRuntimeEnvResponse" {
		t.Fatalf("response %s", r.Raw)
	}
	if got := attachedTo(t, e, lt.Alice, env); len(got) != 1 || got[0] != cred {
		t.Fatalf("env credentials %v", got)
	}
	lt.OK(t, link(e, lt.Alice, "AttachCredentialToRuntimeEnv", env2, cred)) // one credential, many envs
	items, _ := creds(t, e, lt.Alice, url.Values{"runtime_env_credential_ids": {cred}, "verbose": {"1"}})
	if re, ok := items[0]["runtime_env"].(map[string]any); !ok || (re["runtime_env_id"] != env && re["runtime_env_id"] != env2) || len(items[0]["runtime_envs"].([]any)) != 2 {
		t.Fatalf("verbose credential %v", items[0])
	}

	for _, c := range []struct {
		name      string
		user      lt.User
		action    string
		env, cred string
		status    int
		field     string
	}{
		{"second credential", lt.Alice, "AttachCredentialToRuntimeEnv", env, other, 409, cred},
		{"same again", lt.Alice, "AttachCredentialToRuntimeEnv", env, cred, 409, "already attached"},
		{"runtime mismatch", lt.Alice, "AttachCredentialToRuntimeEnv", env2, qc, 400, "runtime_env_credential_id"},
		{"bob's cred on alice's public env", lt.Bob, "AttachCredentialToRuntimeEnv", env, bobs, 403, env},
		{"alice's cred on bob's env", lt.Bob, "AttachCredentialToRuntimeEnv", bobEnv, other, 404, other},
		{"bad env id", lt.Alice, "AttachCredentialToRuntimeEnv", "x", cred, 400, "runtime_env_id"},
		{"bad cred id", lt.Alice, "AttachCredentialToRuntimeEnv", env, "re-1", 400, "runtime_env_credential_id"},
		{"missing env", lt.Alice, "AttachCredentialToRuntimeEnv", "re-missing", cred, 404, "re-missing"},
		{"cluster unreachable", lt.Alice, "AttachCredentialToRuntimeEnv", elsewhere, other, 400, "endpoint"},
		{"detach not attached", lt.Alice, "DetachCredentialFromRuntimeEnv", env, other, 409, "not attached"},
		{"bob detaches", lt.Bob, "DetachCredentialFromRuntimeEnv", env, cred, 404, cred},
		{"anonymous", lt.Anonymous, "AttachCredentialToRuntimeEnv", env, cred, 401, ""},
	} {
		r := link(e, c.user, c.action, c.env, c.cred)
		if r.Status != c.status || !strings.Contains(r.Body["message"].(string), c.field) {
			t.Errorf("%s: %d %s, want %d naming %q", c.name, r.Status, r.Raw, c.status, c.field)
		}
	}
	if got := attachedTo(t, e, lt.Alice, env); len(got) != 1 || got[0] != cred {
		t.Fatalf("failed attaches changed the env: %v", got)
	}
	if r := e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}}); r.Status != 409 {
		t.Fatalf("delete env with credential: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": cred}}); r.Status != 409 {
		t.Fatalf("delete attached credential: %d", r.Status)
	}
	// Switching the credential of an attached env to another runtime is refused.
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": cred},
		Body: map[string]any{"content": qcContent("a", "s")}}); r.Status != 400 {
		t.Fatalf("runtime switch while attached: %d %s", r.Status, r.Raw)
	}

	lt.OK(t, link(e, lt.Alice, "DetachCredentialFromRuntimeEnv", env, cred))
	if r := link(e, lt.Alice, "DetachCredentialFromRuntimeEnv", env, cred); r.Status != 409 {
		t.Fatalf("second detach: %d", r.Status)
	}
	lt.OK(t, link(e, lt.Admin, "DetachCredentialFromRuntimeEnv", env2, cred))
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}}))
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": cred}}))
	if r := link(e, lt.Alice, "AttachCredentialToRuntimeEnv", env2, cred); r.Status != 404 {
		t.Fatalf("attach deleted credential: %d", r.Status)
	}
}

// Attaching is one transaction: of many racing credentials exactly one wins.
func TestConcurrentAttach(t *testing.T) {
	e := lt.New(t)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	defer s.Close()
	env := newEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, newCred(t, e, lt.Alice, map[string]any{"content": qcContent("AK", "SK")}))
	}
	statuses := make([]int, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = link(e, lt.Alice, "AttachCredentialToRuntimeEnv", env, id).Status
		}()
	}
	wg.Wait()
	won := ""
	for i, st := range statuses {
		switch st {
		case 200:
			if won != "" {
				t.Fatalf("two attaches won: %v", statuses)
			}
			won = ids[i]
		case 409:
		default:
			t.Fatalf("unexpected statuses %v", statuses)
		}
	}
	if got := attachedTo(t, e, lt.Alice, env); len(got) != 1 || got[0] != won {
		t.Fatalf("env has %v, winner %s", got, won)
	}
	items, _ := creds(t, e, lt.Alice, url.Values{"runtime_env_credential_ids": ids})
	attached := 0
	for _, it := range items {
		attached += len(it["runtime_env_ids"].([]any))
	}
	if attached != 1 {
		t.Fatalf("%d credentials think they are attached", attached)
	}
}

// QingCloud envs are validated live on attach: a signed DescribeZones at the
// env's endpoint, answered by a stand-in that checks the signature.
func TestQingCloudValidation(t *testing.T) {
	e := lt.New(t)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active", "sh1a": "faulty"})
	defer s.Close()
	gone := qingcloud.NewStandIn("AK", "SK", nil)
	gone.Close()
	good := newEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	faulty := newEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "sh1a", "private")
	unreachable := newEnv(t, e, lt.Alice, "qingcloud", gone.URL+"/iaas/", "pek3a", "private")
	right := newCred(t, e, lt.Alice, map[string]any{"content": qcContent("AK", "SK")})
	wrong := newCred(t, e, lt.Alice, map[string]any{"content": qcContent("AK", "not-the-secret")})
	unknown := newCred(t, e, lt.Alice, map[string]any{"content": qcContent("XX", "SK")})

	for _, c := range []struct {
		name, env, cred, field string
	}{
		{"wrong secret", good, wrong, "content"},
		{"unknown key", good, unknown, "content"},
		{"zone not active", faulty, right, "zone"},
		{"unreachable", unreachable, right, "endpoint"},
	} {
		calls := s.Calls()
		r := link(e, lt.Alice, "AttachCredentialToRuntimeEnv", c.env, c.cred)
		if r.Status != 400 || !strings.Contains(r.Body["message"].(string), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", c.name, r.Status, r.Raw, c.field)
		}
		if c.env != unreachable && s.Calls() != calls+1 {
			t.Errorf("%s: the stand-in was not asked", c.name)
		}
		if got := attachedTo(t, e, lt.Alice, c.env); len(got) != 0 {
			t.Errorf("%s: attached anyway: %v", c.name, got)
		}
	}
	calls := s.Calls()
	lt.OK(t, link(e, lt.Alice, "AttachCredentialToRuntimeEnv", good, right))
	if s.Calls() != calls+1 {
		t.Fatal("attach did not validate live")
	}
	// Rotating an attached credential's content is validated against its envs.
	path := map[string]string{"runtime_env_credential_id": right}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path, Body: map[string]any{"content": qcContent("AK", "bad")}}); r.Status != 400 {
		t.Fatalf("rotation to a wrong secret: %d %s", r.Status, r.Raw)
	}
	other := newEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	lt.OK(t, link(e, lt.Alice, "AttachCredentialToRuntimeEnv", other, right)) // the old content still works
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path, Body: map[string]any{"content": qcContent("AK", "SK")}}))
}
