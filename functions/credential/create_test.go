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

// Every content shape is stored and described with its secrets masked.
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
		// The cluster's own kubeconfig file, as a user would paste it.
		{"kubeconfig file", "kubernetes", map[string]any{"content": map[string]any{"kubeconfig": lc.Kubeconfig}}, map[string]any{"server": lc.Server, "kubeconfig": "******"}},
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
	kf := makeCred(t, e, lt.Bob, map[string]any{"content": map[string]any{"kubeconfig": lc.Kubeconfig}})
	check := func(when string, secrets ...string) {
		raw := rawTable(t, e)
		for _, id := range []string{qc, tok, kc, kf} {
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
	check("created", "qc-secret-at-rest-1", lc.Token, kube, lc.Kubeconfig)
	lt.OK(t, modify(e, lt.Alice, qc, qcBody("AKREST", "qc-secret-at-rest-2")))
	check("rotated", "qc-secret-at-rest-1", "qc-secret-at-rest-2", lc.Token, kube, lc.Kubeconfig)
}

// Bad input is refused on create and on modify, and changes nothing.
// Kubernetes content is validated live against the server it names: /version
// with its CA, then who am I and may I create namespaces.
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
		{"mixed halves", content("access_key_id", "a", "token", "t"), true, "content"},
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
		// Live checks against the local control plane.
		{"foreign CA", tokenBody(lc.Server, lc.Token, testcert.CAData(t)), true, "endpoint"},
		{"wrong token", tokenBody(lc.Server, "not-a-token", lc.CAData), true, "content"},
		{"kubeconfig file, wrong token", content("kubeconfig", strings.Replace(lc.Kubeconfig, lc.Token, "nope", 1)), true, "content"},
		{"powerless token", tokenBody(lc.Server, lc.ViewerToken, lc.CAData), true, "may not create, get, patch, delete namespaces"},
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
				wantErr(t, "modify", modify(e, lt.Alice, seed, c.body), 400, c.field)
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
