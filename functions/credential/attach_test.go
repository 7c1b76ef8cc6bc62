package credential_test

import (
	"net/url"
	"reflect"
	"slices"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/qingcloud"
)

// Helpers to link a credential and an env and read the link from both sides.

func pair(env, cred string) map[string]string {
	return map[string]string{"runtime_env_id": env, "runtime_env_credential_id": cred}
}

func attach(e *lt.Env, u lt.User, env, cred string) lt.Response {
	return e.Call(u, "AttachCredentialToRuntimeEnv", lt.Req{Path: pair(env, cred)})
}

func detach(e *lt.Env, u lt.User, env, cred string) lt.Response {
	return e.Call(u, "DetachCredentialFromRuntimeEnv", lt.Req{Path: pair(env, cred)})
}

// envCredIDs is an env's runtime_env_credential_ids (verbose), as admin sees it.
func envCredIDs(t testing.TB, e *lt.Env, env string) []string {
	t.Helper()
	r := e.Call(lt.Admin, "DescribeRuntimeEnvs", lt.Req{Query: url.Values{"runtime_env_ids": {env}, "verbose": {"1"}, "status": {"active", "deleted"}}})
	lt.OK(t, r)
	set := r.Body["runtime_env_set"].([]any)
	if len(set) != 1 {
		t.Fatalf("env %s: %d items", env, len(set))
	}
	out := []string{}
	for _, id := range set[0].(map[string]any)["runtime_env_credential_ids"].([]any) {
		out = append(out, id.(string))
	}
	return out
}

// credEnvIDs is a credential's runtime_env_ids, sorted.
func credEnvIDs(t testing.TB, e *lt.Env, cred string) []string {
	t.Helper()
	out := []string{}
	for _, id := range credItem(t, e, cred, false)["runtime_env_ids"].([]any) {
		out = append(out, id.(string))
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }

// One credential serves many envs, an env has at most one; refused calls
// change neither record; attached records cannot be deleted or switched
// to another runtime.
func TestAttachDetachLifecycle(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	k8s := tokenBody(lc.Server, lc.Token, lc.CAData)
	env := e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "public")
	env2 := e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "private")
	bare := e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "private")
	bobEnv := e.RuntimeEnv(t, lt.Bob, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "private")
	elsewhere := e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", "https://127.0.0.1:1", "zone", "default", "visibility", "private") // nothing listens
	cred := makeCred(t, e, lt.Alice, k8s)
	other := makeCred(t, e, lt.Alice, k8s)
	qc := makeCred(t, e, lt.Alice, qcBody("a", "s"))
	bobs := makeCred(t, e, lt.Bob, k8s)

	r := attach(e, lt.Alice, env, cred)
	lt.OK(t, r)
	if r.Body["action"] != "AttachCredentialToRuntimeEnvResponse" {
		t.Fatalf("attach response %s", r.Raw)
	}
	if got := envCredIDs(t, e, env); !reflect.DeepEqual(got, []string{cred}) {
		t.Fatalf("env lists %v, want [%s]", got, cred)
	}
	lt.OK(t, attach(e, lt.Alice, env2, cred)) // one credential serves two envs
	if got := credEnvIDs(t, e, cred); !reflect.DeepEqual(got, sorted(env, env2)) {
		t.Fatalf("credential lists %v", got)
	}
	it := credItem(t, e, cred, true)
	if re, ok := it["runtime_env"].(map[string]any); !ok || (re["runtime_env_id"] != env && re["runtime_env_id"] != env2) || re["runtime"] != "kubernetes" {
		t.Fatalf("verbose runtime_env %v", it["runtime_env"])
	}
	if res, _ := it["runtime_envs"].([]any); len(res) != 2 {
		t.Fatalf("verbose runtime_envs %v, want both envs", it["runtime_envs"])
	}

	for _, c := range []struct {
		name      string
		user      lt.User
		attach    bool
		env, cred string
		status    int
		field     string
	}{
		{"second credential", lt.Alice, true, env, other, 409, cred},
		{"same again", lt.Alice, true, env, cred, 409, "already attached"},
		{"runtime mismatch", lt.Alice, true, bare, qc, 400, "runtime_env_credential_id"},
		{"bob's cred on alice's private env", lt.Bob, true, bare, bobs, 404, bare},
		{"bob's cred on alice's public env", lt.Bob, true, env, bobs, 403, env},
		{"alice's cred on bob's env", lt.Bob, true, bobEnv, other, 404, other},
		{"alice's cred on her public env by bob", lt.Bob, true, env, other, 404, other},
		{"alice onto bob's private env", lt.Alice, true, bobEnv, other, 404, bobEnv},
		{"bad env id", lt.Alice, true, "x", cred, 400, "runtime_env_id"},
		{"env id of a credential", lt.Alice, true, cred, cred, 400, "runtime_env_id"},
		{"bad cred id", lt.Alice, true, bare, "re-1", 400, "runtime_env_credential_id"},
		{"missing env", lt.Alice, true, "re-missing", other, 404, "re-missing"},
		{"missing cred", lt.Alice, true, bare, "rec-missing", 404, "rec-missing"},
		{"cluster unreachable", lt.Alice, true, elsewhere, other, 400, "endpoint"}, // validated live before attaching
		{"detach not attached", lt.Alice, false, bare, other, 409, "not attached"},
		{"detach another's pair", lt.Alice, false, env, other, 409, "not attached"},
		{"bob detaches", lt.Bob, false, env, cred, 404, cred},
		{"detach bad ids", lt.Alice, false, "re-", "rec-", 400, "runtime_env_id"},
	} {
		call := attach
		if !c.attach {
			call = detach
		}
		wantErr(t, c.name, call(e, c.user, c.env, c.cred), c.status, c.field)
	}
	wantErr(t, "unknown query", e.Call(lt.Alice, "AttachCredentialToRuntimeEnv", lt.Req{Path: pair(bare, other), Query: url.Values{"force": {"1"}}}), 400, "force")
	for env, want := range map[string][]string{env: {cred}, env2: {cred}, bare: {}, bobEnv: {}, elsewhere: {}} {
		if got := envCredIDs(t, e, env); !reflect.DeepEqual(got, want) {
			t.Errorf("refused calls changed env %s: %v", env, got)
		}
	}
	for _, c := range []string{other, qc, bobs} {
		if got := credEnvIDs(t, e, c); len(got) != 0 || credItem(t, e, c, false)["version"] != float64(1) {
			t.Errorf("refused calls changed credential %s: %v", c, got)
		}
	}

	wantErr(t, "delete env with a credential", e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: envPath(env)}), 409, cred)
	wantErr(t, "delete attached credential", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}), 409, "detach")
	wantErr(t, "rotate to another runtime", modify(e, lt.Alice, cred, qcBody("a", "s")), 400, "content")
	r = detach(e, lt.Alice, env, cred)
	lt.OK(t, r)
	if r.Body["action"] != "DetachCredentialFromRuntimeEnvResponse" {
		t.Fatalf("detach response %s", r.Raw)
	}
	wantErr(t, "detach again", detach(e, lt.Alice, env, cred), 409, "not attached")
	if got, left := envCredIDs(t, e, env), credEnvIDs(t, e, cred); len(got) != 0 || !reflect.DeepEqual(left, []string{env2}) {
		t.Fatalf("after detach: env %v, credential %v", got, left)
	}
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: envPath(env)}))
	wantErr(t, "delete credential still on env2", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}), 409, env2)
	lt.OK(t, detach(e, lt.Admin, env2, cred)) // an admin detaches anyone's
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}))
	wantErr(t, "attach a deleted credential", attach(e, lt.Alice, env2, cred), 404, cred)
	wantErr(t, "attach to a deleted env", attach(e, lt.Alice, env, other), 404, env)
}

// QingCloud credentials are validated live on attach and on rotation, by a
// signed DescribeZones the stand-in checks: exactly one call per env probed.
func TestQingCloudProbedOnAttach(t *testing.T) {
	e := lt.New(t)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active", "sh1a": "faulty"})
	defer s.Close()
	gone := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	gone.Close()
	good := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", s.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	faulty := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", s.URL+"/iaas/", "zone", "sh1a", "visibility", "private")
	unreachable := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", gone.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	right := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))
	wrong := makeCred(t, e, lt.Alice, qcBody("AK", "not-the-secret"))
	unknown := makeCred(t, e, lt.Alice, qcBody("NOPE", "SK"))
	// asks runs call and checks the stand-in answered exactly want requests.
	asks := func(what string, want int, call func()) {
		t.Helper()
		before := s.Calls()
		call()
		if got := s.Calls() - before; got != want {
			t.Errorf("%s: stand-in asked %d times, want %d", what, got, want)
		}
	}

	for _, c := range []struct {
		name, env, cred, field string
		asked                  int
	}{
		{"wrong secret", good, wrong, "content", 1},
		{"unknown key", good, unknown, "content", 1},
		{"zone not active", faulty, right, "zone", 1},
		{"unreachable", unreachable, right, "endpoint", 0},
	} {
		asks(c.name, c.asked, func() { wantErr(t, c.name, attach(e, lt.Alice, c.env, c.cred), 400, c.field) })
		if got, on := envCredIDs(t, e, c.env), credEnvIDs(t, e, c.cred); len(got) != 0 || len(on) != 0 {
			t.Errorf("%s: attached anyway: env %v, credential %v", c.name, got, on)
		}
	}
	asks("attach", 1, func() { lt.OK(t, attach(e, lt.Alice, good, right)) })
	if got := envCredIDs(t, e, good); !reflect.DeepEqual(got, []string{right}) {
		t.Fatalf("env lists %v", got)
	}

	// Rotating the attached credential to a secret the service refuses changes nothing.
	asks("refused rotation", 1, func() {
		wantErr(t, "rotate to a wrong secret", modify(e, lt.Alice, right, qcBody("AK", "bad")), 400, "content")
	})
	if v := credItem(t, e, right, false)["version"]; v != float64(2) { // 1 + the attach
		t.Errorf("refused rotation bumped the version to %v", v)
	}
	other := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", s.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	lt.OK(t, attach(e, lt.Alice, other, right)) // the old content still works
	asks("rotation on 2 envs", 2, func() {
		lt.OK(t, modify(e, lt.Alice, right, qcBody("AK", "SK")))
	})
}
