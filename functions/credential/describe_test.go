package credential_test

import (
	"fmt"
	"net/url"
	"reflect"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Helpers to read credentials back, as a caller or as admin.

func describeCreds(t testing.TB, e *lt.Env, u lt.User, q url.Values) lt.Response {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvCredentials", lt.Req{Query: q})
	lt.OK(t, r)
	if r.Body["action"] != "DescribeRuntimeEnvCredentialsResponse" {
		t.Fatalf("describe response %s", r.Raw)
	}
	return r
}

func credIDs(r lt.Response) []string {
	out := []string{}
	for _, it := range r.Body["runtime_env_credential_set"].([]any) {
		out = append(out, it.(map[string]any)["runtime_env_credential_id"].(string))
	}
	return out
}

// credItem is the one credential id as admin sees it.
func credItem(t testing.TB, e *lt.Env, id string, verbose bool) map[string]any {
	t.Helper()
	q := url.Values{"runtime_env_credential_ids": {id}}
	if verbose {
		q.Set("verbose", "1")
	}
	set := describeCreds(t, e, lt.Admin, q).Body["runtime_env_credential_set"].([]any)
	if len(set) != 1 {
		t.Fatalf("credential %s: %d items", id, len(set))
	}
	return set[0].(map[string]any)
}

func credTotal(t testing.TB, e *lt.Env) float64 {
	t.Helper()
	return describeCreds(t, e, lt.Admin, nil).Body["total_count"].(float64)
}

// Credentials are private: only their owner and admins see, change or hand
// them over.
func TestOwnership(t *testing.T) {
	e := lt.New(t)
	r := e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: with(qcBody("a", "s"), "owner", "bob")})
	wantErr(t, "alice creates for bob", r, 403, "owner")
	if r.Body["action"] != "CreateRuntimeEnvCredentialResponse" {
		t.Errorf("refused create answered as %v", r.Body["action"])
	}
	if n := credTotal(t, e); n != 0 {
		t.Fatalf("refused create stored a credential: %v", n)
	}
	alices := makeCred(t, e, lt.Alice, with(qcBody("a", "s"), "owner", "alice"))
	bobs := makeCred(t, e, lt.Admin, with(qcBody("b", "s"), "owner", "bob"))
	if it := credItem(t, e, bobs, false); it["owner"] != "bob" {
		t.Fatalf("admin-made credential owner %v", it["owner"])
	}
	for name, c := range map[string]struct {
		user lt.User
		q    url.Values
		want []string
	}{
		"alice":                {lt.Alice, nil, []string{alices}},
		"bob":                  {lt.Bob, nil, []string{bobs}},
		"admin":                {lt.Admin, nil, []string{bobs, alices}},
		"bob by alice's id":    {lt.Bob, url.Values{"runtime_env_credential_ids": {alices}}, []string{}},
		"bob by both ids":      {lt.Bob, url.Values{"runtime_env_credential_ids": {alices, bobs}}, []string{bobs}},
		"bob searches the id":  {lt.Bob, url.Values{"search_word": {alices}}, []string{}},
		"admin owner=bob":      {lt.Admin, url.Values{"owner": {"bob"}}, []string{bobs}},
		"admin owner=nobody":   {lt.Admin, url.Values{"owner": {"nobody"}}, []string{}},
		"alice owner=bob":      {lt.Alice, url.Values{"owner": {"bob"}}, []string{}},
		"alice owner=alice":    {lt.Alice, url.Values{"owner": {"alice"}}, []string{alices}},
		"admin by both ids":    {lt.Admin, url.Values{"runtime_env_credential_ids": {alices, bobs}}, []string{bobs, alices}},
		"alice owner=bob, ids": {lt.Alice, url.Values{"owner": {"bob"}, "runtime_env_credential_ids": {bobs}}, []string{}},
	} {
		r := describeCreds(t, e, c.user, c.q)
		if got := credIDs(r); !reflect.DeepEqual(got, c.want) || r.Body["total_count"] != float64(len(c.want)) {
			t.Errorf("%s: got %v (total %v), want %v", name, got, r.Body["total_count"], c.want)
		}
	}
	// Someone else's credential is not found rather than forbidden: its id leaks nothing.
	for name, body := range map[string]any{"name": map[string]any{"name": "x"}, "content": qcBody("b", "s2"), "owner": map[string]any{"owner": "bob"}} {
		wantErr(t, "bob modifies alice's "+name, modify(e, lt.Bob, alices, body), 404, alices)
	}
	wantErr(t, "bob deletes alice's", e.Call(lt.Bob, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(alices)}), 404, alices)
	wantErr(t, "alice gives hers to bob", modify(e, lt.Alice, alices, map[string]any{"owner": "bob"}), 403, "owner")
	if it := credItem(t, e, alices, false); it["version"] != float64(1) || it["owner"] != "alice" || it["name"] != "" {
		t.Fatalf("refused changes landed: %v", it)
	}
	// An admin changes anyone's credential, and may hand it over.
	lt.OK(t, modify(e, lt.Admin, bobs, map[string]any{"name": "by-admin"}))
	lt.OK(t, modify(e, lt.Admin, alices, map[string]any{"owner": "bob"}))
	if got := credIDs(describeCreds(t, e, lt.Bob, nil)); !reflect.DeepEqual(got, []string{bobs, alices}) {
		t.Fatalf("bob after the hand-over sees %v", got)
	}
	if got := credIDs(describeCreds(t, e, lt.Alice, nil)); len(got) != 0 {
		t.Fatalf("alice after the hand-over sees %v", got)
	}
	lt.OK(t, e.Call(lt.Admin, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(bobs)}))
}

// A call without claims (the authorizer bypassed) is refused by every route.
func TestAnonymousRefused(t *testing.T) {
	e := lt.New(t)
	id := makeCred(t, e, lt.Alice, qcBody("a", "s"))
	both := pair("re-abc", id)
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

// Describe lists newest first, pages, searches names and ids case-blind, and
// names the one bad parameter of a query.
func TestDescribePagingAndSearch(t *testing.T) {
	e := lt.New(t)
	var made []string // newest first
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("key-%02d", i)
		if i == 4 {
			name = "Prod-Key"
		}
		made = append([]string{makeCred(t, e, lt.Alice, with(qcBody("a", "s"), "name", name))}, made...)
	}
	makeCred(t, e, lt.Bob, with(qcBody("b", "s"), "name", "prod-bob"))
	for name, c := range map[string]struct {
		q                  url.Values
		want               []string
		total, pages, size float64
	}{
		"default":         {nil, made[:10], 12, 2, 10},
		"page 1 of 5":     {url.Values{"page_size": {"5"}}, made[:5], 12, 3, 5},
		"page 2 of 5":     {url.Values{"page_size": {"5"}, "page_number": {"2"}}, made[5:10], 12, 3, 5},
		"page 3 of 5":     {url.Values{"page_size": {"5"}, "page_number": {"3"}}, made[10:], 12, 3, 5},
		"past the end":    {url.Values{"page_size": {"5"}, "page_number": {"4"}}, []string{}, 12, 3, 5},
		"all in one":      {url.Values{"page_size": {"100"}}, made, 12, 1, 100},
		"search case":     {url.Values{"search_word": {"PROD"}}, made[7:8], 1, 1, 10},
		"search middle":   {url.Values{"search_word": {"od-k"}}, made[7:8], 1, 1, 10},
		"search id":       {url.Values{"search_word": {made[3]}}, made[3:4], 1, 1, 10},
		"search no match": {url.Values{"search_word": {"zzz"}}, []string{}, 0, 0, 10},
		"search paged":    {url.Values{"search_word": {"key-"}, "page_size": {"10"}, "page_number": {"2"}}, made[11:], 11, 2, 10},
		"ids paged":       {url.Values{"runtime_env_credential_ids": made[:3], "page_size": {"2"}, "page_number": {"2"}}, made[2:3], 3, 2, 2},
	} {
		r := describeCreds(t, e, lt.Alice, c.q)
		if got := credIDs(r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", name, got, c.want)
		}
		if r.Body["total_count"] != c.total || r.Body["total_pages"] != c.pages || r.Body["page_size"] != c.size {
			t.Errorf("%s: paging fields total %v pages %v size %v", name, r.Body["total_count"], r.Body["total_pages"], r.Body["page_size"])
		}
	}
	// Each bad query names its one parameter.
	for _, q := range []url.Values{
		{"page_size": {"0"}}, {"page_size": {"101"}}, {"page_size": {"ten"}}, {"page_number": {"0"}}, {"colour": {"red"}},
		{"runtime_env_credential_ids": {"re-abc"}}, {"runtime_env_credential_ids": {"rec-ABC"}}, {"verbose": {"2"}},
		{"owner": {"a b"}}, {"owner": {"alice", "bob"}}, {"search_word": {"a", "b"}}, {"next_token": {"abc"}},
	} {
		for field := range q {
			wantErr(t, q.Encode(), e.Call(lt.Alice, "DescribeRuntimeEnvCredentials", lt.Req{Query: q}), 400, field)
		}
	}
	// Deleted credentials are gone from every view.
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(made[0])}))
	if r := describeCreds(t, e, lt.Alice, nil); r.Body["total_count"] != float64(11) || credIDs(r)[0] != made[1] {
		t.Errorf("after delete: total %v, first %v", r.Body["total_count"], credIDs(r)[0])
	}
	for _, q := range []url.Values{{"runtime_env_credential_ids": {made[0]}}, {"search_word": {made[0]}}} {
		if got := credIDs(describeCreds(t, e, lt.Admin, q)); len(got) != 0 {
			t.Errorf("deleted credential listed by %v", q)
		}
	}
}
