package credential_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/qingcloud"
)

func makeEnv(t testing.TB, e *lt.Env, u lt.User, runtime, endpoint, zone, vis string) string {
	t.Helper()
	r := e.Call(u, "CreateRuntimeEnv", lt.Req{Body: map[string]any{"runtime": runtime, "name": "env", "endpoint": endpoint, "zone": zone, "visibility": vis}})
	lt.OK(t, r)
	return r.Body["runtime_env_id"].(string)
}

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

func TestAttachDetachLifecycle(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	k8s := tokenBody(lc.Server, lc.Token, lc.CAData)
	env := makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "public")
	env2 := makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private")
	bare := makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private")
	bobEnv := makeEnv(t, e, lt.Bob, "kubernetes", lc.Server, "default", "private")
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
	for env, want := range map[string][]string{env: {cred}, env2: {cred}, bare: {}, bobEnv: {}} {
		if got := envCredIDs(t, e, env); !reflect.DeepEqual(got, want) {
			t.Errorf("refused calls changed env %s: %v", env, got)
		}
	}
	for _, c := range []string{other, qc, bobs} {
		if got := credEnvIDs(t, e, c); len(got) != 0 || credItem(t, e, c, false)["version"] != float64(1) {
			t.Errorf("refused calls changed credential %s: %v", c, got)
		}
	}

	wantErr(t, "delete env with a credential", e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}}), 409, cred)
	wantErr(t, "delete attached credential", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}), 409, "detach")
	wantErr(t, "rotate to another runtime", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(cred), Body: qcBody("a", "s")}), 400, "content")
	r = detach(e, lt.Alice, env, cred)
	lt.OK(t, r)
	if r.Body["action"] != "DetachCredentialFromRuntimeEnvResponse" {
		t.Fatalf("detach response %s", r.Raw)
	}
	wantErr(t, "detach again", detach(e, lt.Alice, env, cred), 409, "not attached")
	if got, left := envCredIDs(t, e, env), credEnvIDs(t, e, cred); len(got) != 0 || !reflect.DeepEqual(left, []string{env2}) {
		t.Fatalf("after detach: env %v, credential %v", got, left)
	}
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}}))
	wantErr(t, "delete credential still on env2", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}), 409, env2)
	lt.OK(t, detach(e, lt.Admin, env2, cred))
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)}))
	wantErr(t, "attach a deleted credential", attach(e, lt.Alice, env2, cred), 404, cred)
	wantErr(t, "attach to a deleted env", attach(e, lt.Alice, env, other), 404, env)
}

// Attaching is one transaction on both records: racing attaches to one env
// leave exactly one winner, and racing attaches of one credential all land.
func TestRacingAttaches(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	k8s := tokenBody(lc.Server, lc.Token, lc.CAData)
	race := func(n int, call func(i int) lt.Response) []int {
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = call(i).Status
			}()
		}
		wg.Wait()
		return statuses
	}

	env := makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private")
	var creds []string
	for range 5 {
		creds = append(creds, makeCred(t, e, lt.Alice, k8s))
	}
	statuses := race(len(creds), func(i int) lt.Response { return attach(e, lt.Alice, env, creds[i]) })
	won := ""
	for i, st := range statuses {
		switch {
		case st == 200 && won == "":
			won = creds[i]
		case st != 409:
			t.Fatalf("statuses %v: want one 200 and the rest 409", statuses)
		}
	}
	if got := envCredIDs(t, e, env); won == "" || !reflect.DeepEqual(got, []string{won}) {
		t.Fatalf("env has %v, winner %q (statuses %v)", got, won, statuses)
	}
	for _, c := range creds {
		want := []string{}
		if c == won {
			want = []string{env}
		}
		if got := credEnvIDs(t, e, c); !reflect.DeepEqual(got, want) {
			t.Errorf("credential %s lists %v, want %v", c, got, want)
		}
	}

	shared := makeCred(t, e, lt.Alice, k8s)
	var envs []string
	for range 5 {
		envs = append(envs, makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private"))
	}
	statuses = race(len(envs), func(i int) lt.Response { return attach(e, lt.Alice, envs[i], shared) })
	for i, st := range statuses {
		if st != 200 {
			t.Errorf("attach to %s: %d", envs[i], st)
		}
		if got := envCredIDs(t, e, envs[i]); st == 200 && !reflect.DeepEqual(got, []string{shared}) {
			t.Errorf("env %s lists %v", envs[i], got)
		}
	}
	if got := credEnvIDs(t, e, shared); !reflect.DeepEqual(got, sorted(envs...)) {
		t.Fatalf("credential lists %v, want all of %v", got, envs)
	}

	// Attach racing the deletion of either side: both records agree at the end.
	for round := range 3 {
		env := makeEnv(t, e, lt.Alice, "kubernetes", lc.Server, "default", "private")
		cred := makeCred(t, e, lt.Alice, k8s)
		st := race(2, func(i int) lt.Response {
			if i == 0 {
				return attach(e, lt.Alice, env, cred)
			}
			if round%2 == 0 {
				return e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)})
			}
			return e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}})
		})
		if (st[0] == 200) == (st[1] == 200) {
			t.Errorf("round %d: attach %d, delete %d: exactly one must win", round, st[0], st[1])
		}
		onEnv := envCredIDs(t, e, env)
		credAlive := len(credIDs(describeCreds(t, e, lt.Admin, url.Values{"runtime_env_credential_ids": {cred}}))) == 1
		attached := st[0] == 200
		if attached != (len(onEnv) == 1) || (round%2 == 0 && attached != credAlive) || (credAlive && attached != (len(credEnvIDs(t, e, cred)) == 1)) {
			t.Errorf("round %d: attach %d, delete %d, env lists %v, credential alive %v", round, st[0], st[1], onEnv, credAlive)
		}
	}
}

// QingCloud credentials are validated live on attach and on rotation, by a
// signed DescribeZones the stand-in checks.
func TestQingCloudProbedOnAttach(t *testing.T) {
	e := lt.New(t)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active", "sh1a": "faulty"})
	defer s.Close()
	gone := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	gone.Close()
	good := makeEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	faulty := makeEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "sh1a", "private")
	unreachable := makeEnv(t, e, lt.Alice, "qingcloud", gone.URL+"/iaas/", "pek3a", "private")
	right := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))
	wrong := makeCred(t, e, lt.Alice, qcBody("AK", "not-the-secret"))
	unknown := makeCred(t, e, lt.Alice, qcBody("NOPE", "SK"))

	for _, c := range []struct {
		name, env, cred, field string
		asked                  bool
	}{
		{"wrong secret", good, wrong, "content", true},
		{"unknown key", good, unknown, "content", true},
		{"zone not active", faulty, right, "zone", true},
		{"unreachable", unreachable, right, "endpoint", false},
	} {
		before := s.Calls()
		wantErr(t, c.name, attach(e, lt.Alice, c.env, c.cred), 400, c.field)
		if asked := s.Calls() > before; asked != c.asked {
			t.Errorf("%s: stand-in asked %v, want %v", c.name, asked, c.asked)
		}
		if got, on := envCredIDs(t, e, c.env), credEnvIDs(t, e, c.cred); len(got) != 0 || len(on) != 0 {
			t.Errorf("%s: attached anyway: env %v, credential %v", c.name, got, on)
		}
	}
	before := s.Calls()
	lt.OK(t, attach(e, lt.Alice, good, right))
	if s.Calls() <= before {
		t.Fatal("attach did not validate live")
	}
	if got := envCredIDs(t, e, good); !reflect.DeepEqual(got, []string{right}) {
		t.Fatalf("env lists %v", got)
	}

	// Rotating the attached credential to a secret the service refuses changes nothing.
	before = s.Calls()
	wantErr(t, "rotate to a wrong secret", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(right), Body: qcBody("AK", "bad")}), 400, "content")
	if s.Calls() <= before {
		t.Error("rotation was not validated live")
	}
	if v := credItem(t, e, right, false)["version"]; v != float64(2) {
		t.Errorf("refused rotation bumped the version to %v", v)
	}
	other := makeEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	lt.OK(t, attach(e, lt.Alice, other, right)) // the old content still works
	before = s.Calls()
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(right), Body: qcBody("AK", "SK")}))
	if s.Calls()-before != 2 {
		t.Errorf("rotation of a credential on 2 envs asked the stand-in %d times", s.Calls()-before)
	}
}

// gate is a proxy in front of a stand-in; while held it keeps each request
// until released: a live probe in flight for as long as a test needs.
type gate struct {
	*httptest.Server
	target           atomic.Pointer[httputil.ReverseProxy]
	held             atomic.Bool
	arrived, release chan struct{}
}

func newGate(t *testing.T, to *qingcloud.StandIn) *gate {
	g := &gate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	g.to(to)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.held.Load() {
			select {
			case g.arrived <- struct{}{}:
			default:
			}
			<-g.release
		}
		g.target.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gate) to(s *qingcloud.StandIn) {
	u, _ := url.Parse(s.URL)
	g.target.Store(httputil.NewSingleHostReverseProxy(u))
}

// What an attach validated live is what it attaches: content rotated while
// the attach's probe is in flight must not ride along unvalidated.
func TestAttachRacingRotation(t *testing.T) {
	e := lt.New(t)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	defer s.Close()
	g := newGate(t, s)
	slow := makeEnv(t, e, lt.Alice, "qingcloud", g.URL+"/iaas/", "pek3a", "private")
	other := makeEnv(t, e, lt.Alice, "qingcloud", s.URL+"/iaas/", "pek3a", "private")
	cred := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))

	g.held.Store(true)
	done := make(chan lt.Response)
	go func() { done <- attach(e, lt.Alice, slow, cred) }()
	<-g.arrived // the attach is validating AK/SK...
	rotated := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(cred), Body: qcBody("AK", "wrong-secret")})
	close(g.release)
	if r := <-done; r.Status != 200 || rotated.Status != 200 {
		return // one of them gave way: nothing unvalidated is attached
	}
	// Both landed: the content now on the env must be one its service accepts.
	if r := attach(e, lt.Alice, other, cred); r.Status != 200 {
		t.Fatalf("env %s holds credential %s rotated during the attach's probe, never validated against it: "+
			"the same service refuses it: %d %s", slow, cred, r.Status, r.Raw)
	}
}

// What a rotation validated live is every env it lands on: an attach that
// commits while the rotation's probe is in flight must not escape validation.
func TestRotationRacingAttach(t *testing.T) {
	e := lt.New(t)
	old := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	defer old.Close()
	rotatedTo := qingcloud.NewStandIn("AK2", "SK2", map[string]string{"pek3a": "active"})
	defer rotatedTo.Close()
	g := newGate(t, old)
	first := makeEnv(t, e, lt.Alice, "qingcloud", g.URL+"/iaas/", "pek3a", "private")
	second := makeEnv(t, e, lt.Alice, "qingcloud", old.URL+"/iaas/", "pek3a", "private")
	third := makeEnv(t, e, lt.Alice, "qingcloud", old.URL+"/iaas/", "pek3a", "private")
	cred := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))
	lt.OK(t, attach(e, lt.Alice, first, cred))

	g.to(rotatedTo) // first's service now knows only AK2/SK2
	g.held.Store(true)
	done := make(chan lt.Response)
	go func() {
		done <- e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(cred), Body: qcBody("AK2", "SK2")})
	}()
	<-g.arrived // the rotation is validating AK2/SK2 against first...
	attached := attach(e, lt.Alice, second, cred)
	close(g.release)
	if r := <-done; r.Status != 200 || attached.Status != 200 {
		return
	}
	if r := attach(e, lt.Alice, third, cred); r.Status != 200 {
		t.Fatalf("env %s holds credential %s rotated while it was attached, never validated against it: "+
			"the same service refuses it: %d %s", second, cred, r.Status, r.Raw)
	}
}

func TestAnonymousRefused(t *testing.T) {
	e := lt.New(t)
	id := makeCred(t, e, lt.Alice, qcBody("a", "s"))
	both := map[string]string{"runtime_env_id": "re-abc", "runtime_env_credential_id": id}
	for action, req := range map[string]lt.Req{
		"CreateRuntimeEnvCredential":     {Body: qcBody("a", "s")},
		"DescribeRuntimeEnvCredentials":  {},
		"ModifyRuntimeEnvCredential":     {Path: credPath(id), Body: map[string]any{"name": "x"}},
		"DeleteRuntimeEnvCredential":     {Path: credPath(id)},
		"AttachCredentialToRuntimeEnv":   {Path: both},
		"DetachCredentialFromRuntimeEnv": {Path: both},
	} {
		r := e.Call(lt.Anonymous, action, req)
		wantErr(t, action, r, 401, "unauthenticated")
		if r.Body["action"] != action+"Response" {
			t.Errorf("%s answered as %v", action, r.Body["action"])
		}
	}
	if it := credItem(t, e, id, false); it["version"] != float64(1) || credTotal(t, e) != 1 {
		t.Fatalf("anonymous calls changed data: %v", it)
	}
}
