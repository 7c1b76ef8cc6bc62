package runtimeenv_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

func envBody(name string, extra ...string) map[string]any {
	b := map[string]any{"runtime": "kubernetes", "name": name, "endpoint": "https://k8s.example.com:6443", "zone": "default"}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i]] = extra[i+1]
	}
	return b
}

func describe(t *testing.T, e *lt.Env, u lt.User, q url.Values) lt.Response {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvs", lt.Req{Query: q})
	lt.OK(t, r)
	return r
}

func ids(r lt.Response) []string {
	var out []string
	for _, it := range r.Body["runtime_env_set"].([]any) {
		out = append(out, it.(map[string]any)["runtime_env_id"].(string))
	}
	return out
}

func total(t *testing.T, e *lt.Env) float64 {
	t.Helper()
	return describe(t, e, lt.Admin, url.Values{"status": {"active", "deleted"}}).Body["total_count"].(float64)
}

func TestCreate(t *testing.T) {
	e := lt.New(t)
	r := e.Call(lt.Alice, "CreateRuntimeEnv", lt.Req{Body: envBody("c1", "description", "first")})
	lt.OK(t, r)
	if r.Body["action"] != "CreateRuntimeEnvResponse" || !strings.HasPrefix(r.Body["runtime_env_id"].(string), "re-") {
		t.Fatalf("unexpected response %s", r.Raw)
	}
	got := describe(t, e, lt.Alice, url.Values{"runtime_env_ids": {r.Body["runtime_env_id"].(string)}})
	item := got.Body["runtime_env_set"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{"owner": "alice", "visibility": "private", "status": "active", "zone": "default",
		"runtime": "kubernetes", "description": "first", "version": float64(1)} {
		if item[k] != want {
			t.Errorf("%s = %v, want %v", k, item[k], want)
		}
	}
	if item["create_time"] == "" || item["status_time"] == "" {
		t.Error("times missing")
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	e := lt.New(t)
	e.RuntimeEnv(t, lt.Alice, "name", "keep")
	cases := []struct {
		name   string
		user   lt.User
		body   any
		status int
		field  string
	}{
		{"no runtime", lt.Alice, envBody("x", "runtime", ""), 400, "runtime"},
		{"unknown runtime", lt.Alice, envBody("x", "runtime", "docker"), 400, "runtime"},
		{"no name", lt.Alice, envBody(""), 400, "name"},
		{"long name", lt.Alice, envBody(strings.Repeat("n", 256)), 400, "name"},
		{"control char name", lt.Alice, envBody("a\x01b"), 400, "name"},
		{"no endpoint", lt.Alice, envBody("x", "endpoint", ""), 400, "endpoint"},
		{"relative endpoint", lt.Alice, envBody("x", "endpoint", "k8s.example.com"), 400, "endpoint"},
		{"ftp endpoint", lt.Alice, envBody("x", "endpoint", "ftp://k8s.example.com"), 400, "endpoint"},
		{"plain http endpoint", lt.Alice, envBody("x", "endpoint", "http://k8s.example.com"), 400, "endpoint"},
		{"metadata endpoint", lt.Alice, envBody("x", "endpoint", "https://169.254.169.254/latest"), 400, "endpoint"},
		{"link-local v6 endpoint", lt.Alice, envBody("x", "endpoint", "https://[fe80::1]:6443"), 400, "endpoint"},
		{"metadata host endpoint", lt.Alice, envBody("x", "endpoint", "https://metadata.google.internal/"), 400, "endpoint"},
		{"endpoint with userinfo", lt.Alice, envBody("x", "endpoint", "https://u:p@k8s.example.com"), 400, "endpoint"},
		{"no zone", lt.Alice, envBody("x", "zone", ""), 400, "zone"},
		{"bad zone", lt.Alice, envBody("x", "zone", "Bad_Zone"), 400, "zone"},
		{"bad visibility", lt.Alice, envBody("x", "visibility", "secret"), 400, "visibility"},
		{"unknown field", lt.Alice, envBody("x", "colour", "red"), 400, "colour"},
		{"wrong type", lt.Alice, map[string]any{"runtime": 5}, 400, "runtime"},
		{"not json", lt.Alice, "{", 400, "body"},
		{"array body", lt.Alice, "[]", 400, "body"},
		{"two objects", lt.Alice, `{} {}`, 400, "body"},
		{"other owner by user", lt.Alice, envBody("x", "owner", "bob"), 403, "owner"},
		{"bad owner by admin", lt.Admin, envBody("x", "owner", "a b"), 400, "owner"},
		{"no identity", lt.Anonymous, envBody("x"), 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(c.user, "CreateRuntimeEnv", lt.Req{Body: c.body})
			if r.Status != c.status || r.Body["ret_code"] == float64(0) || r.Body["action"] != "CreateRuntimeEnvResponse" {
				t.Fatalf("got %d %s, want %d", r.Status, r.Raw, c.status)
			}
			if msg, _ := r.Body["message"].(string); !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %q", msg, c.field)
			}
		})
	}
	if n := total(t, e); n != 1 {
		t.Fatalf("bad input changed data: %v envs", n)
	}
}

func TestOwnerAndVisibility(t *testing.T) {
	e := lt.New(t)
	private := e.RuntimeEnv(t, lt.Alice, "name", "alice-private")
	public := e.RuntimeEnv(t, lt.Alice, "name", "alice-public", "visibility", "public")
	bobs := e.RuntimeEnv(t, lt.Admin, "name", "made-for-bob", "owner", "bob")

	if got := ids(describe(t, e, lt.Bob, nil)); !same(got, bobs, public) {
		t.Fatalf("bob sees %v", got)
	}
	if got := ids(describe(t, e, lt.Alice, nil)); !same(got, public, private) {
		t.Fatalf("alice sees %v", got)
	}
	if got := ids(describe(t, e, lt.Admin, nil)); !same(got, bobs, public, private) {
		t.Fatalf("admin sees %v", got)
	}
	if got := describe(t, e, lt.Bob, nil).Body["total_count"]; got != float64(2) {
		t.Fatalf("bob's total_count %v", got)
	}
	if got := ids(describe(t, e, lt.Bob, url.Values{"runtime_env_ids": {private, public}})); !same(got, public) {
		t.Fatalf("bob reads by id %v", got)
	}
	if got := ids(describe(t, e, lt.Bob, url.Values{"owners": {"alice"}})); !same(got, public) {
		t.Fatalf("bob filters owners=alice: %v", got)
	}
	if got := ids(describe(t, e, lt.Admin, url.Values{"visibility": {"private"}})); !same(got, bobs, private) {
		t.Fatalf("admin private: %v", got)
	}
	for _, c := range []struct {
		user   lt.User
		id     string
		status int
	}{
		{lt.Bob, private, 404}, {lt.Bob, public, 403}, {lt.Alice, bobs, 404}, {lt.Admin, private, 200}, {lt.Bob, bobs, 200},
	} {
		r := e.Call(c.user, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": c.id}, Body: map[string]any{"description": "x"}})
		if r.Status != c.status {
			t.Errorf("%s modifies %s: %d %s, want %d", c.user.Sub, c.id, r.Status, r.Raw, c.status)
		}
		r = e.Call(c.user, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": c.id}})
		if c.status != 200 && r.Status != c.status {
			t.Errorf("%s deletes %s: %d, want %d", c.user.Sub, c.id, r.Status, c.status)
		}
	}
	// Only an admin hands an env to someone else.
	r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": public}, Body: map[string]any{"owner": "bob"}})
	if r.Status != 403 {
		t.Fatalf("user changed owner: %d", r.Status)
	}
}

func same(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestPaging(t *testing.T) {
	e := lt.New(t)
	var made []string
	for i := 0; i < 23; i++ {
		made = append([]string{e.RuntimeEnv(t, lt.Alice, "name", fmt.Sprintf("env-%02d", i))}, made...)
	}
	r := describe(t, e, lt.Alice, nil)
	if got := ids(r); !same(got, made[:10]...) {
		t.Fatalf("first page not newest first: %v", got)
	}
	for k, want := range map[string]float64{"total_count": 23, "total_pages": 3, "page_size": 10, "current_page": 1} {
		if r.Body[k] != want {
			t.Errorf("%s = %v, want %v", k, r.Body[k], want)
		}
	}
	if got := ids(describe(t, e, lt.Alice, url.Values{"page_number": {"3"}})); !same(got, made[20:]...) {
		t.Fatalf("page 3: %v", got)
	}
	// Cursor paging walks the same order.
	var walked []string
	q := url.Values{"page_size": {"7"}}
	for page := 1; ; page++ {
		r := describe(t, e, lt.Alice, q)
		if r.Body["current_page"] != float64(page) {
			t.Fatalf("current_page %v, want %d", r.Body["current_page"], page)
		}
		walked = append(walked, ids(r)...)
		tok, _ := r.Body["next_token"].(string)
		if tok == "" {
			break
		}
		q = url.Values{"page_size": {"7"}, "next_token": {tok}}
	}
	if !same(walked, made...) {
		t.Fatalf("cursor walk %v", walked)
	}
	tok := describe(t, e, lt.Alice, url.Values{"page_size": {"5"}}).Body["next_token"].(string)
	for name, q := range map[string]url.Values{
		"page_size 0":      {"page_size": {"0"}},
		"page_size 101":    {"page_size": {"101"}},
		"page_size text":   {"page_size": {"ten"}},
		"page_number 0":    {"page_number": {"0"}},
		"forged token":     {"next_token": {"abc"}},
		"token, new query": {"next_token": {tok}, "page_size": {"5"}, "runtime": {"kubernetes"}},
		"unknown param":    {"colour": {"red"}},
		"bad status":       {"status": {"gone"}},
		"bad runtime":      {"runtime": {"docker"}},
		"bad visibility":   {"visibility": {"all"}},
		"bad id":           {"runtime_env_ids": {"rec-123"}},
		"bad label id":     {"runtime_env_label_ids": {"re-123"}},
		"verbose 2":        {"verbose": {"2"}},
		"twice":            {"search_word": {"a", "b"}},
	} {
		r := e.Call(lt.Alice, "DescribeRuntimeEnvs", lt.Req{Query: q})
		if r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
}

func TestFilters(t *testing.T) {
	e := lt.New(t)
	k8s := e.RuntimeEnv(t, lt.Alice, "name", "Prod-Cluster")
	qc := e.RuntimeEnv(t, lt.Alice, "name", "qc-zone", "runtime", "qingcloud", "endpoint", "https://api.qingcloud.com/iaas/", "zone", "pek3a")
	gone := e.RuntimeEnv(t, lt.Alice, "name", "old-cluster")
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": gone}}))
	label := e.Call(lt.Alice, "CreateRuntimeEnvLabel", lt.Req{Body: map[string]any{"runtime_env_id": qc, "label_key": "tier", "label_value": "gold"}})
	lt.OK(t, label)

	for name, c := range map[string]struct {
		q    url.Values
		want []string
	}{
		"default hides deleted": {nil, []string{qc, k8s}},
		"runtime":               {url.Values{"runtime": {"qingcloud"}}, []string{qc}},
		"search substring":      {url.Values{"search_word": {"cluster"}}, []string{k8s}},
		"search case":           {url.Values{"search_word": {"PROD"}}, []string{k8s}},
		"search id":             {url.Values{"search_word": {qc}}, []string{qc}},
		"deleted":               {url.Values{"status": {"deleted"}}, []string{gone}},
		"all statuses":          {url.Values{"status": {"active", "deleted"}}, []string{gone, qc, k8s}},
		"ids":                   {url.Values{"runtime_env_ids": {k8s, gone}}, []string{k8s}},
		"label ids":             {url.Values{"runtime_env_label_ids": {label.Body["runtime_env_label_id"].(string)}}, []string{qc}},
		"owners":                {url.Values{"owners": {"bob"}}, nil},
	} {
		got := describe(t, e, lt.Alice, c.q)
		if !same(ids(got), c.want...) || got.Body["total_count"] != float64(len(c.want)) {
			t.Errorf("%s: got %v (total %v), want %v", name, ids(got), got.Body["total_count"], c.want)
		}
	}
	item := describe(t, e, lt.Alice, url.Values{"runtime_env_ids": {qc}, "verbose": {"1"}}).Body["runtime_env_set"].([]any)[0].(map[string]any)
	labels := item["runtime_env_labels"].([]any)
	if len(labels) != 1 || labels[0].(map[string]any)["label_key"] != "tier" {
		t.Fatalf("labels %v", labels)
	}
	if creds, ok := item["runtime_env_credential_ids"].([]any); !ok || len(creds) != 0 {
		t.Fatalf("verbose credential ids %v", item["runtime_env_credential_ids"])
	}
	item = describe(t, e, lt.Alice, url.Values{"runtime_env_ids": {qc}}).Body["runtime_env_set"].([]any)[0].(map[string]any)
	if _, ok := item["runtime_env_credential_ids"]; ok {
		t.Fatal("credential ids shown without verbose")
	}
}

func TestModifyAndDelete(t *testing.T) {
	e := lt.New(t)
	id := e.RuntimeEnv(t, lt.Alice, "name", "m")
	path := map[string]string{"runtime_env_id": id}
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: path, Body: map[string]any{"name": "renamed", "visibility": "public"}}))
	r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: path, Body: map[string]any{"name": "stale", "version": 1}})
	if r.Status != 409 {
		t.Fatalf("stale version: %d %s", r.Status, r.Raw)
	}
	for name, body := range map[string]any{
		"empty name": map[string]any{"name": ""}, "bad visibility": map[string]any{"visibility": "x"},
		"endpoint is fixed": map[string]any{"endpoint": "https://other"}, "bad json": "{",
	} {
		if r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: path, Body: body}); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": "nope"}, Body: map[string]any{}}); r.Status != 400 {
		t.Errorf("bad path id: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": "re-missing"}, Body: map[string]any{}}); r.Status != 404 {
		t.Errorf("missing env: %d", r.Status)
	}
	item := describe(t, e, lt.Bob, url.Values{"runtime_env_ids": {id}}).Body["runtime_env_set"].([]any)[0].(map[string]any)
	if item["name"] != "renamed" || item["version"] != float64(2) {
		t.Fatalf("after modify: %v", item)
	}
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: path}))
	if r := e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: path}); r.Status != 404 {
		t.Fatalf("second delete: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: path, Body: map[string]any{"name": "zombie"}}); r.Status != 404 {
		t.Fatalf("modify deleted: %d", r.Status)
	}
	if got := ids(describe(t, e, lt.Alice, nil)); len(got) != 0 {
		t.Fatalf("deleted env listed: %v", got)
	}
}

// Concurrent read-modify-writes of one env must all land.
func TestConcurrentChangesKeepEveryUpdate(t *testing.T) {
	e := lt.New(t)
	id := e.RuntimeEnv(t, lt.Alice, "name", "busy")
	var wg sync.WaitGroup
	failures := make(chan string, 20)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := e.Call(lt.Alice, "CreateRuntimeEnvLabel", lt.Req{Body: map[string]any{"runtime_env_id": id, "label_key": fmt.Sprintf("k%d", i), "label_value": "v"}})
			if r.Status != 200 {
				failures <- r.Raw
			}
		}()
		go func() {
			defer wg.Done()
			r := e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": id}, Body: map[string]any{"description": fmt.Sprint("d", i)}})
			if r.Status != 200 {
				failures <- r.Raw
			}
		}()
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	item := describe(t, e, lt.Alice, url.Values{"runtime_env_ids": {id}}).Body["runtime_env_set"].([]any)[0].(map[string]any)
	if n := len(item["runtime_env_labels"].([]any)); n != 10 {
		t.Fatalf("%d labels survived of 10", n)
	}
	if item["version"] != float64(21) {
		t.Fatalf("version %v after 20 changes", item["version"])
	}
}
