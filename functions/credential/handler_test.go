package credential_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/local/testcert"
)

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

func credPath(id string) map[string]string { return map[string]string{"runtime_env_credential_id": id} }

// wantErr checks an error answer: status, ret_code and a message naming field.
func wantErr(t testing.TB, what string, r lt.Response, status int, field string) {
	t.Helper()
	msg, _ := r.Body["message"].(string)
	if r.Status != status || r.Body["ret_code"] == float64(0) || !strings.Contains(msg, field) {
		t.Errorf("%s: got %d %s, want %d naming %q", what, r.Status, r.Raw, status, field)
	}
}

// rawTable is every item of the test's table as text ([]byte values as is).
func rawTable(t testing.TB, e *lt.Env) string {
	t.Helper()
	var b strings.Builder
	p := dynamodb.NewScanPaginator(e.Deps.DB, &dynamodb.ScanInput{TableName: aws.String(e.Deps.Store.Table()), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		var items []map[string]any
		if err == nil {
			err = attributevalue.UnmarshalListOfMaps(page.Items, &items)
		}
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		fmt.Fprintf(&b, "%s\n", items)
	}
	return b.String()
}

func TestCreateShowsContentMasked(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	kube := kcfg(lc.Server, lc.CAData, "c", "", "    token: "+lc.Token+"\n")
	for _, c := range []struct {
		name, runtime string
		body          map[string]any
		shown         map[string]any
	}{
		{"qingcloud", "qingcloud", qcBody("QYACCESS", "qy-secret"), map[string]any{"access_key_id": "QYACCESS", "secret_access_key": "******"}},
		{"token", "kubernetes", tokenBody(lc.Server, lc.Token, lc.CAData),
			map[string]any{"server": lc.Server, "token": "******", "certificate_authority_data": lc.CAData}},
		{"kubeconfig", "kubernetes", map[string]any{"content": map[string]any{"kubeconfig": kube}}, map[string]any{"server": lc.Server, "kubeconfig": "******"}},
		{"registry", "registry", map[string]any{"content": map[string]any{"server": "https://registry.example.com", "username": "u", "password": "p"}},
			map[string]any{"server": "https://registry.example.com", "username": "u", "password": "******"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := makeCred(t, e, lt.Alice, with(c.body, "name", c.name, "description", "about "+c.name))
			items := describeCreds(t, e, lt.Alice, url.Values{"runtime_env_credential_ids": {id}}).Body["runtime_env_credential_set"].([]any)
			if len(items) != 1 {
				t.Fatalf("alice sees %d items", len(items))
			}
			it := items[0].(map[string]any)
			for k, want := range map[string]any{"runtime_env_credential_id": id, "name": c.name, "description": "about " + c.name,
				"runtime": c.runtime, "owner": "alice", "status": "active", "version": float64(1)} {
				if it[k] != want {
					t.Errorf("%s = %v, want %v", k, it[k], want)
				}
			}
			if !reflect.DeepEqual(it["content"], c.shown) {
				t.Errorf("content %v, want %v", it["content"], c.shown)
			}
			if envs, ok := it["runtime_env_ids"].([]any); !ok || len(envs) != 0 || it["create_time"] == "" || it["status_time"] == "" {
				t.Errorf("runtime_env_ids or times: %v", it)
			}
			if _, ok := it["runtime_env"]; ok {
				t.Errorf("runtime_env shown without verbose")
			}
		})
	}
}

// No attribute of any item holds a secret in clear (nor base64 of it), before
// or after the content is rotated.
func TestSecretsEncryptedAtRest(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	kube := kcfg(lc.Server, lc.CAData, "c", "", "    token: "+lc.Token+"\n")
	qc := makeCred(t, e, lt.Alice, qcBody("AKREST", "qc-secret-at-rest-1"))
	tok := makeCred(t, e, lt.Alice, tokenBody(lc.Server, lc.Token, lc.CAData))
	kc := makeCred(t, e, lt.Bob, map[string]any{"content": map[string]any{"kubeconfig": kube}})
	check := func(when string, secrets ...string) {
		raw := rawTable(t, e)
		for _, id := range []string{qc, tok, kc} {
			if !strings.Contains(raw, id) {
				t.Fatalf("%s: scan does not hold credential %s", when, id)
			}
		}
		for i, s := range secrets {
			if strings.Contains(raw, s) || strings.Contains(raw, base64.StdEncoding.EncodeToString([]byte(s))) {
				t.Errorf("%s: the table holds secret #%d in clear", when, i)
			}
		}
	}
	check("created", "qc-secret-at-rest-1", lc.Token, kube)
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(qc), Body: qcBody("AKREST", "qc-secret-at-rest-2")}))
	check("rotated", "qc-secret-at-rest-1", "qc-secret-at-rest-2", lc.Token, kube)
}

// Bad input is refused on create and on modify, and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	seed := makeCred(t, e, lt.Alice, with(qcBody("SEED", "seed-secret"), "name", "seed"))
	tok := "    token: " + lc.Token + "\n"
	kube := func(current, cluster, user string) map[string]any {
		return map[string]any{"content": map[string]any{"kubeconfig": kcfg(lc.Server, lc.CAData, current, cluster, user)}}
	}
	content := func(kv ...any) map[string]any { return map[string]any{"content": with(nil, kv...)} }
	cases := []struct {
		name     string
		body     any
		onModify bool // also refused as a ModifyRuntimeEnvCredential body
		field    string
	}{
		{"no content", map[string]any{"name": "x"}, false, "content"},
		{"null content", map[string]any{"content": nil}, false, "content"},
		{"empty content", content(), true, "content"},
		{"unknown shape", content("foo", "bar"), true, "content"},
		{"mixed shapes", content("access_key_id", "a", "secret_access_key", "s", "token", "t"), true, "content"},
		{"half a shape", content("access_key_id", "a"), true, "content"},
		{"empty value", qcBody("", "s"), true, "content.access_key_id"},
		{"number value", content("access_key_id", 1, "secret_access_key", "s"), true, "content"},
		{"content a string", map[string]any{"content": "abc"}, true, "content"},
		{"value over 64 KiB", qcBody(strings.Repeat("a", 64<<10+1), "s"), true, "content.access_key_id"},
		{"kubeconfig garbage", content("kubeconfig", "::: [not yaml"), true, "content.kubeconfig"},
		{"exec", kube("c", "", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh}\n"), true, "exec"},
		{"auth-provider", kube("c", "", "    auth-provider: {name: oidc}\n"), true, "auth-provider"},
		{"tokenFile", kube("c", "", "    tokenFile: /var/run/secrets/token\n"), true, "tokenFile"},
		{"client cert file", kube("c", "", "    client-certificate: /etc/c.pem\n    client-key: /etc/k.pem\n"), true, "certificate files"},
		{"impersonation", kube("c", "", tok+"    as: system:admin\n"), true, "impersonates"},
		{"CA file", kube("c", "    certificate-authority: /etc/ca.pem\n", tok), true, "CA file"},
		{"proxy-url", kube("c", "    proxy-url: http://proxy.example.com:3128\n", tok), true, "proxy-url"},
		{"no current-context", kube("", "", tok), true, "current-context"},
		{"unknown current-context", kube("other", "", tok), true, "current-context"},
		{"insecure kubeconfig", kube("c", "    insecure-skip-tls-verify: true\n", tok), true, "content"},
		{"kubeconfig metadata server", content("kubeconfig", kcfg("https://169.254.169.254", lc.CAData, "c", "", tok)), true, "content.kubeconfig"},
		{"metadata server", tokenBody("https://169.254.169.254", "t", testcert.CAData(t)), true, "content.server"},
		{"plain http server", tokenBody("http://k8s.example.com", "t", lc.CAData), true, "content.server"},
		{"relative server", tokenBody("k8s.example.com", "t", lc.CAData), true, "content.server"},
		{"ca not base64", tokenBody(lc.Server, "t", "%%%"), true, "content.certificate_authority_data"},
		{"ca not PEM", tokenBody(lc.Server, "t", base64.StdEncoding.EncodeToString([]byte("hello"))), true, "content.certificate_authority_data"},
		{"ca PEM not a cert", tokenBody(lc.Server, "t", base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))), true, "content.certificate_authority_data"},
		{"foreign CA", tokenBody(lc.Server, lc.Token, testcert.CAData(t)), true, "endpoint"},
		{"wrong token", tokenBody(lc.Server, "not-a-token", lc.CAData), true, "content"},
		{"powerless token", tokenBody(lc.Server, lc.ViewerToken, lc.CAData), true, "namespaces"},
		{"nothing listening", tokenBody("https://127.0.0.1:1", lc.Token, lc.CAData), true, "endpoint"},
		{"name 256 chars", with(qcBody("a", "s"), "name", strings.Repeat("n", 256)), true, "name"},
		{"name with spaces around", with(qcBody("a", "s"), "name", " n "), true, "name"},
		{"description 1025 chars", with(qcBody("a", "s"), "description", strings.Repeat("d", 1025)), true, "description"},
		{"unknown field", with(qcBody("a", "s"), "colour", "red"), true, "colour"},
		{"bad owner", with(qcBody("a", "s"), "owner", "a b"), true, "owner"},
		{"not JSON", "{", true, "body"},
		{"array body", "[]", true, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: c.body})
			wantErr(t, "create", r, 400, c.field)
			if r.Body["action"] != "CreateRuntimeEnvCredentialResponse" {
				t.Errorf("create answered as %v", r.Body["action"])
			}
			if c.onModify {
				wantErr(t, "modify", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(seed), Body: c.body}), 400, c.field)
			}
		})
	}
	if n := credTotal(t, e); n != 1 {
		t.Fatalf("bad input stored credentials: total_count %v", n)
	}
	it := credItem(t, e, seed, false)
	want := map[string]any{"access_key_id": "SEED", "secret_access_key": "******"}
	if it["version"] != float64(1) || it["name"] != "seed" || it["runtime"] != "qingcloud" || !reflect.DeepEqual(it["content"], want) {
		t.Fatalf("bad modifies changed the seed: %v", it)
	}
}

func TestOwnership(t *testing.T) {
	e := lt.New(t)
	wantErr(t, "alice creates for bob", e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: with(qcBody("a", "s"), "owner", "bob")}), 403, "owner")
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
	for name, body := range map[string]any{"name": map[string]any{"name": "x"}, "content": qcBody("b", "s2"), "owner": map[string]any{"owner": "bob"}} {
		wantErr(t, "bob modifies alice's "+name, e.Call(lt.Bob, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(alices), Body: body}), 404, alices)
	}
	wantErr(t, "bob deletes alice's", e.Call(lt.Bob, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(alices)}), 404, alices)
	wantErr(t, "alice gives hers to bob", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(alices), Body: map[string]any{"owner": "bob"}}), 403, "owner")
	if it := credItem(t, e, alices, false); it["version"] != float64(1) || it["owner"] != "alice" || it["name"] != "" {
		t.Fatalf("refused changes landed: %v", it)
	}
	// An admin changes anyone's credential, and may hand it over.
	lt.OK(t, e.Call(lt.Admin, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(bobs), Body: map[string]any{"name": "by-admin"}}))
	lt.OK(t, e.Call(lt.Admin, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(alices), Body: map[string]any{"owner": "bob"}}))
	if got := credIDs(describeCreds(t, e, lt.Bob, nil)); !reflect.DeepEqual(got, []string{bobs, alices}) {
		t.Fatalf("bob after the hand-over sees %v", got)
	}
	if got := credIDs(describeCreds(t, e, lt.Alice, nil)); len(got) != 0 {
		t.Fatalf("alice after the hand-over sees %v", got)
	}
	lt.OK(t, e.Call(lt.Admin, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(bobs)}))
}

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

func TestModify(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	id := makeCred(t, e, lt.Alice, with(qcBody("AK1", "secret-1"), "name", "n1"))
	modify := func(body any) lt.Response {
		return e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(id), Body: body})
	}
	expect := func(step string, want map[string]any) {
		t.Helper()
		it := credItem(t, e, id, false)
		for k, v := range want {
			if !reflect.DeepEqual(it[k], v) {
				t.Errorf("%s: %s = %v, want %v", step, k, it[k], v)
			}
		}
	}
	r := modify(map[string]any{"name": "n2", "description": "d2"})
	lt.OK(t, r)
	if r.Body["action"] != "ModifyRuntimeEnvCredentialResponse" || r.Body["runtime_env_credential_id"] != id {
		t.Fatalf("modify response %s", r.Raw)
	}
	expect("rename", map[string]any{"name": "n2", "description": "d2", "version": float64(2),
		"content": map[string]any{"access_key_id": "AK1", "secret_access_key": "******"}})
	lt.OK(t, modify(qcBody("AK2", "secret-2")))
	expect("rotate", map[string]any{"name": "n2", "runtime": "qingcloud", "version": float64(3),
		"content": map[string]any{"access_key_id": "AK2", "secret_access_key": "******"}})
	lt.OK(t, modify(tokenBody(lc.Server, lc.Token, lc.CAData)))
	expect("to kubernetes", map[string]any{"runtime": "kubernetes", "version": float64(4),
		"content": map[string]any{"server": lc.Server, "token": "******", "certificate_authority_data": lc.CAData}})

	wantErr(t, "stale version", modify(map[string]any{"name": "stale", "version": 3}), 409, "version")
	wantErr(t, "future version", modify(with(qcBody("AK3", "s"), "version", 9)), 409, "version")
	expect("after conflicts", map[string]any{"name": "n2", "runtime": "kubernetes", "version": float64(4)})
	lt.OK(t, modify(map[string]any{"name": "current", "version": 4}))
	expect("current version", map[string]any{"name": "current", "version": float64(5)})

	wantErr(t, "bad path id", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath("x"), Body: map[string]any{}}), 400, "runtime_env_credential_id")
	wantErr(t, "missing", e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath("rec-missing"), Body: map[string]any{"name": "x"}}), 404, "rec-missing")
	wantErr(t, "delete with a query", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id), Query: url.Values{"force": {"1"}}}), 400, "force")
	r = e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id)})
	lt.OK(t, r)
	if r.Body["action"] != "DeleteRuntimeEnvCredentialResponse" || r.Body["runtime_env_credential_id"] != id {
		t.Fatalf("delete response %s", r.Raw)
	}
	wantErr(t, "modify deleted", modify(map[string]any{"name": "zombie"}), 404, id)
	wantErr(t, "rotate deleted", modify(qcBody("AK", "s")), 404, id)
	wantErr(t, "delete again", e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: credPath(id)}), 404, id)
	wantErr(t, "admin modifies deleted", e.Call(lt.Admin, "ModifyRuntimeEnvCredential", lt.Req{Path: credPath(id), Body: map[string]any{"name": "z"}}), 404, id)
}
