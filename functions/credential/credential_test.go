package credential_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/envhub/envhub/infra/local/testcert"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

func kubeconfig(user string) string {
	return "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n" +
		"clusters:\n- name: k\n  cluster: {server: 'https://k8s.example.com:6443'}\nusers:\n- name: u\n  user:\n" + user
}

func qcContent(ak, sk string) map[string]any {
	return map[string]any{"access_key_id": ak, "secret_access_key": sk}
}

func newCred(t testing.TB, e *lt.Env, u lt.User, body map[string]any) string {
	t.Helper()
	r := e.Call(u, "CreateRuntimeEnvCredential", lt.Req{Body: body})
	lt.OK(t, r)
	if r.Body["action"] != "CreateRuntimeEnvCredentialResponse" || !strings.HasPrefix(r.Body["runtime_env_credential_id"].(string), "rec-") {
		t.Fatalf("response %s", r.Raw)
	}
	return r.Body["runtime_env_credential_id"].(string)
}

func newEnv(t testing.TB, e *lt.Env, u lt.User, runtime, endpoint, zone, vis string) string {
	t.Helper()
	r := e.Call(u, "CreateRuntimeEnv", lt.Req{Body: map[string]any{"runtime": runtime, "name": "e", "endpoint": endpoint, "zone": zone, "visibility": vis}})
	lt.OK(t, r)
	return r.Body["runtime_env_id"].(string)
}

func creds(t *testing.T, e *lt.Env, u lt.User, q url.Values) ([]map[string]any, map[string]any) {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvCredentials", lt.Req{Query: q})
	lt.OK(t, r)
	var out []map[string]any
	for _, it := range r.Body["runtime_env_credential_set"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out, r.Body
}

func TestCreateMasksAndEncrypts(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	cases := []struct {
		name    string
		content map[string]any
		runtime string
		shown   map[string]string
		secret  string
	}{
		{"qingcloud", qcContent("QYAK", "qc-secret-1"), "qingcloud", map[string]string{"access_key_id": "QYAK", "secret_access_key": "******"}, "qc-secret-1"},
		{"token", anyMap(lc.Content()), "kubernetes",
			map[string]string{"server": lc.Server, "token": "******", "certificate_authority_data": lc.CAData}, lc.Token},
		{"kubeconfig", map[string]any{"kubeconfig": lc.Kubeconfig}, "kubernetes",
			map[string]string{"server": lc.Server, "kubeconfig": "******"}, lc.Token},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := newCred(t, e, lt.Alice, map[string]any{"name": c.name, "content": c.content})
			got, _ := creds(t, e, lt.Alice, url.Values{"runtime_env_credential_ids": {id}})
			if len(got) != 1 || got[0]["runtime"] != c.runtime || got[0]["owner"] != "alice" || got[0]["version"] != float64(1) {
				t.Fatalf("described %v", got)
			}
			content := got[0]["content"].(map[string]any)
			if len(content) != len(c.shown) {
				t.Fatalf("content %v", content)
			}
			for k, v := range c.shown {
				if content[k] != v {
					t.Errorf("content.%s = %v, want %v", k, content[k], v)
				}
			}
			// At rest, the secret appears in no attribute of the item.
			item, err := e.Deps.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: ptr(e.Deps.Store.Table()),
				Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "rec#" + id}, "SK": &types.AttributeValueMemberS{Value: "A"}}})
			if err != nil || item.Item == nil {
				t.Fatalf("raw item: %v", err)
			}
			for attr, v := range item.Item {
				if raw := dump(v); strings.Contains(raw, c.secret) {
					t.Fatalf("attribute %s holds the secret in clear", attr)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func anyMap(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Kubernetes credentials are validated live on create, against the server
// they name: /version with their CA, then who am I and may I create namespaces.
func TestKubernetesCredentialValidatedLive(t *testing.T) {
	e := lt.New(t)
	lc := lt.LocalCluster(t)
	with := func(k, v string) map[string]any {
		c := anyMap(lc.Content())
		c[k] = v
		return map[string]any{"content": c}
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"wrong token", with("token", "not-a-token"), "content"},
		{"no rights", with("token", lc.ViewerToken), "may not create namespaces"},
		{"foreign CA", with("certificate_authority_data", testcert.CAData(t)), "endpoint"},
		{"nothing listening", with("server", "https://127.0.0.1:1"), "endpoint"},
		{"kubeconfig with a wrong token", map[string]any{"content": map[string]any{"kubeconfig": strings.Replace(lc.Kubeconfig, lc.Token, "nope", 1)}}, "content"},
	} {
		r := e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: c.body})
		if r.Status != 400 || !strings.Contains(r.Body["message"].(string), c.field) {
			t.Errorf("%s: %d %s, want 400 naming %q", c.name, r.Status, r.Raw, c.field)
		}
	}
	if _, body := creds(t, e, lt.Admin, nil); body["total_count"] != float64(0) {
		t.Fatalf("refused credentials were stored: %v", body["total_count"])
	}
	id := newCred(t, e, lt.Alice, map[string]any{"content": anyMap(lc.Content())})
	// Rotating to content the cluster refuses is refused too.
	r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": id}, Body: with("token", lc.ViewerToken)})
	if r.Status != 400 {
		t.Fatalf("rotation to a powerless token: %d %s", r.Status, r.Raw)
	}
}

func dump(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberB:
		return string(v.Value)
	case *types.AttributeValueMemberM:
		var b strings.Builder
		for _, x := range v.Value {
			b.WriteString(dump(x))
		}
		return b.String()
	case *types.AttributeValueMemberSS:
		return strings.Join(v.Value, ",")
	}
	return ""
}

func TestCreateRejectsBadContent(t *testing.T) {
	e := lt.New(t)
	ca := testcert.CAData(t)
	kc := func(user string) map[string]any {
		return map[string]any{"content": map[string]any{"kubeconfig": kubeconfig(user)}}
	}
	cases := []struct {
		name   string
		user   lt.User
		body   any
		status int
		field  string
	}{
		{"no content", lt.Alice, map[string]any{"name": "x"}, 400, "content"},
		{"empty content", lt.Alice, map[string]any{"content": map[string]any{}}, 400, "content"},
		{"unknown shape", lt.Alice, map[string]any{"content": map[string]any{"foo": "bar"}}, 400, "content"},
		{"mixed shapes", lt.Alice, map[string]any{"content": map[string]any{"access_key_id": "a", "token": "t"}}, 400, "content"},
		{"empty value", lt.Alice, map[string]any{"content": qcContent("", "s")}, 400, "access_key_id"},
		{"number value", lt.Alice, map[string]any{"content": map[string]any{"access_key_id": 1, "secret_access_key": "s"}}, 400, "content"},
		{"content not a dict", lt.Alice, map[string]any{"content": "abc"}, 400, "content"},
		{"kubeconfig garbage", lt.Alice, map[string]any{"content": map[string]any{"kubeconfig": ":: nope"}}, 400, "kubeconfig"},
		{"exec", lt.Alice, kc("    exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}"), 400, "exec"},
		{"auth-provider", lt.Alice, kc("    auth-provider: {name: oidc}"), 400, "auth-provider"},
		{"tokenFile", lt.Alice, kc("    tokenFile: /var/run/secrets/token"), 400, "tokenFile"},
		{"client cert path", lt.Alice, kc("    client-certificate: /etc/c.pem\n    client-key: /etc/k.pem"), 400, "certificate"},
		{"metadata server", lt.Alice, map[string]any{"content": map[string]any{"server": "https://169.254.169.254", "token": "t", "certificate_authority_data": ca}}, 400, "server"},
		{"ca not base64", lt.Alice, map[string]any{"content": map[string]any{"server": "https://k", "token": "t", "certificate_authority_data": "%%%"}}, 400, "certificate_authority_data"},
		{"ca not pem", lt.Alice, map[string]any{"content": map[string]any{"server": "https://k", "token": "t", "certificate_authority_data": "aGVsbG8="}}, 400, "certificate_authority_data"},
		{"long name", lt.Alice, map[string]any{"name": strings.Repeat("n", 256), "content": qcContent("a", "s")}, 400, "name"},
		{"unknown field", lt.Alice, map[string]any{"kind": "x", "content": qcContent("a", "s")}, 400, "kind"},
		{"owner by user", lt.Alice, map[string]any{"owner": "bob", "content": qcContent("a", "s")}, 403, "owner"},
		{"anonymous", lt.Anonymous, map[string]any{"content": qcContent("a", "s")}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(c.user, "CreateRuntimeEnvCredential", lt.Req{Body: c.body})
			if r.Status != c.status || r.Body["action"] != "CreateRuntimeEnvCredentialResponse" {
				t.Fatalf("got %d %s, want %d", r.Status, r.Raw, c.status)
			}
			if msg, _ := r.Body["message"].(string); !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %q", msg, c.field)
			}
		})
	}
	if _, body := creds(t, e, lt.Admin, nil); body["total_count"] != float64(0) {
		t.Fatalf("bad input stored credentials: %v", body["total_count"])
	}
}

func TestOwnershipDescribeModify(t *testing.T) {
	e := lt.New(t)
	a1 := newCred(t, e, lt.Alice, map[string]any{"name": "Alpha Key", "content": qcContent("a", "s")})
	a2 := newCred(t, e, lt.Alice, map[string]any{"name": "beta", "content": qcContent("a", "s")})
	b1 := newCred(t, e, lt.Admin, map[string]any{"name": "for-bob", "owner": "bob", "content": qcContent("b", "s")})

	idsOf := func(items []map[string]any) (out []string) {
		for _, it := range items {
			out = append(out, it["runtime_env_credential_id"].(string))
		}
		return out
	}
	for name, c := range map[string]struct {
		user lt.User
		q    url.Values
		want []string
	}{
		"alice":            {lt.Alice, nil, []string{a2, a1}},
		"bob":              {lt.Bob, nil, []string{b1}},
		"admin":            {lt.Admin, nil, []string{b1, a2, a1}},
		"admin owner=bob":  {lt.Admin, url.Values{"owner": {"bob"}}, []string{b1}},
		"alice owner=bob":  {lt.Alice, url.Values{"owner": {"bob"}}, nil},
		"bob by alice ids": {lt.Bob, url.Values{"runtime_env_credential_ids": {a1, b1}}, []string{b1}},
		"search name":      {lt.Alice, url.Values{"search_word": {"alpha"}}, []string{a1}},
		"search id":        {lt.Alice, url.Values{"search_word": {a2}}, []string{a2}},
		"page 2":           {lt.Admin, url.Values{"page_size": {"2"}, "page_number": {"2"}}, []string{a1}},
	} {
		got, body := creds(t, e, c.user, c.q)
		if strings.Join(idsOf(got), ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", name, idsOf(got), c.want)
		}
		if name == "page 2" && (body["total_count"] != float64(3) || body["total_pages"] != float64(2)) {
			t.Errorf("paging fields %v", body)
		}
	}
	for name, q := range map[string]url.Values{
		"page_size 0": {"page_size": {"0"}}, "page_size 101": {"page_size": {"101"}}, "unknown": {"x": {"1"}},
		"bad id": {"runtime_env_credential_ids": {"re-1"}}, "verbose 2": {"verbose": {"2"}}, "bad owner": {"owner": {"a b"}},
	} {
		if r := e.Call(lt.Alice, "DescribeRuntimeEnvCredentials", lt.Req{Query: q}); r.Status != 400 {
			t.Errorf("%s: %d", name, r.Status)
		}
	}

	path := func(id string) map[string]string { return map[string]string{"runtime_env_credential_id": id} }
	if r := e.Call(lt.Bob, "ModifyRuntimeEnvCredential", lt.Req{Path: path(a1), Body: map[string]any{"name": "x"}}); r.Status != 404 {
		t.Errorf("bob modifies alice's: %d", r.Status)
	}
	if r := e.Call(lt.Bob, "DeleteRuntimeEnvCredential", lt.Req{Path: path(a1)}); r.Status != 404 {
		t.Errorf("bob deletes alice's: %d", r.Status)
	}
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path(a1), Body: map[string]any{"name": "renamed", "description": "d",
		"content": anyMap(lt.LocalCluster(t).Content())}}))
	got, _ := creds(t, e, lt.Alice, url.Values{"runtime_env_credential_ids": {a1}})
	if got[0]["name"] != "renamed" || got[0]["runtime"] != "kubernetes" || got[0]["content"].(map[string]any)["token"] != "******" || got[0]["version"] != float64(2) {
		t.Fatalf("after modify: %v", got[0])
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path(a1), Body: map[string]any{"name": "x", "version": 1}}); r.Status != 409 || !strings.Contains(r.Raw, "version") {
		t.Errorf("stale version: %d %s", r.Status, r.Raw)
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path(a1), Body: map[string]any{"content": map[string]any{"x": "y"}}}); r.Status != 400 {
		t.Errorf("bad content on modify: %d", r.Status)
	}
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: path(a2)}))
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvCredential", lt.Req{Path: path(a2), Body: map[string]any{"name": "x"}}); r.Status != 404 {
		t.Errorf("modify deleted: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": "bad"}}); r.Status != 400 {
		t.Errorf("bad path id: %d", r.Status)
	}
}
