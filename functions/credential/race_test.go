package credential_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/qingcloud"
)

// race runs call(0..n-1) at once and returns their statuses.
func race(n int, call func(i int) lt.Response) []int {
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

// Attaching is one transaction on both records: racing attaches to one env
// leave exactly one winner, and racing attaches of one credential all land.
func TestRacingAttaches(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	k8s := tokenBody(lc.Server, lc.Token, lc.CAData)
	s := qingcloud.NewStandIn("AK", "SK", map[string]string{"pek3a": "active"})
	defer s.Close()

	// Each runtime probes differently before the transaction; the race is the same.
	for _, rt := range []struct {
		runtime, endpoint, zone string
		body                    map[string]any
	}{
		{"kubernetes", lc.Server, "default", k8s},
		{"qingcloud", s.URL + "/iaas/", "pek3a", qcBody("AK", "SK")},
	} {
		t.Run(rt.runtime, func(t *testing.T) {
			env := e.RuntimeEnv(t, lt.Alice, "runtime", rt.runtime, "endpoint", rt.endpoint, "zone", rt.zone, "visibility", "private")
			var creds []string
			for range 5 {
				creds = append(creds, makeCred(t, e, lt.Alice, rt.body))
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
		})
	}

	shared := makeCred(t, e, lt.Alice, k8s)
	var envs []string
	for range 5 {
		envs = append(envs, e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "private"))
	}
	statuses := race(len(envs), func(i int) lt.Response { return attach(e, lt.Alice, envs[i], shared) })
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
		env := e.RuntimeEnv(t, lt.Alice, "runtime", "kubernetes", "endpoint", lc.Server, "zone", "default", "visibility", "private")
		cred := makeCred(t, e, lt.Alice, k8s)
		st := race(2, func(i int) lt.Response {
			if i == 0 {
				return attach(e, lt.Alice, env, cred)
			}
			if round%2 == 0 {
				return e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(cred)})
			}
			return e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: envPath(env)})
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
	slow := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", g.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	other := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", s.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	cred := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))

	g.held.Store(true)
	done := make(chan lt.Response)
	go func() { done <- attach(e, lt.Alice, slow, cred) }()
	<-g.arrived // the attach is validating AK/SK...
	rotated := modify(e, lt.Alice, cred, qcBody("AK", "wrong-secret"))
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
	first := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", g.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	second := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", old.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	third := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", old.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	cred := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))
	lt.OK(t, attach(e, lt.Alice, first, cred))

	g.to(rotatedTo) // first's service now knows only AK2/SK2
	g.held.Store(true)
	done := make(chan lt.Response)
	go func() {
		done <- modify(e, lt.Alice, cred, qcBody("AK2", "SK2"))
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
