package model

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/envhub/envhub/infra/local/testcert"
	"github.com/envhub/envhub/shared/errs"
)

func kubeconfig(user, cluster string) string {
	return `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
clusters:
- name: k
  cluster:
    server: https://k8s.example.com:6443
` + cluster + `
users:
- name: u
  user:
` + user
}

func pemBlock(typ string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: []byte("not der")})
}

func TestParseContent(t *testing.T) {
	ca := testcert.CAData(t)
	cases := []struct {
		name    string
		content map[string]string
		runtime string
		field   string // expected in the error; empty when valid
	}{
		{"qingcloud", map[string]string{"access_key_id": "AK", "secret_access_key": "SK"}, QingCloud, ""},
		{"token", map[string]string{"server": "https://k", "token": "t", "certificate_authority_data": ca}, Kubernetes, ""},
		{"kubeconfig", map[string]string{"kubeconfig": kubeconfig("    token: abc", "    certificate-authority-data: "+ca)}, Kubernetes, ""},
		{"empty", map[string]string{}, "", "content"},
		{"unknown shape", map[string]string{"foo": "bar"}, "", "content"},
		{"mixed", map[string]string{"access_key_id": "AK", "token": "t"}, "", "content"},
		{"empty value", map[string]string{"access_key_id": "", "secret_access_key": "SK"}, "", "content.access_key_id"},
		{"ca not base64", map[string]string{"server": "https://k", "token": "t", "certificate_authority_data": "%%"}, "", "certificate_authority_data"},
		{"ca not pem", map[string]string{"server": "https://k", "token": "t", "certificate_authority_data": base64.StdEncoding.EncodeToString([]byte("x"))}, "", "certificate_authority_data"},
		{"kubeconfig garbage", map[string]string{"kubeconfig": "::: not yaml"}, "", "kubeconfig"},
		{"exec", map[string]string{"kubeconfig": kubeconfig("    exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}", "")}, "", "exec"},
		{"auth-provider", map[string]string{"kubeconfig": kubeconfig("    auth-provider: {name: gcp}", "")}, "", "auth-provider"},
		{"tokenFile", map[string]string{"kubeconfig": kubeconfig("    tokenFile: /var/run/token", "")}, "", "tokenFile"},
		{"client cert path", map[string]string{"kubeconfig": kubeconfig("    client-certificate: /etc/cert.pem", "")}, "", "certificate"},
		{"ca path", map[string]string{"kubeconfig": kubeconfig("    token: abc", "    certificate-authority: /etc/ca.pem")}, "", "CA file"},
		{"kubeconfig ca not pem", map[string]string{"kubeconfig": kubeconfig("    token: abc", "    certificate-authority-data: aGVsbG8=")}, "", "certificate-authority-data"},
		{"kubeconfig ca private key", map[string]string{"kubeconfig": kubeconfig("    token: abc", "    certificate-authority-data: "+base64.StdEncoding.EncodeToString(pemBlock("PRIVATE KEY")))}, "", "certificate-authority-data"},
		{"client key without cert", map[string]string{"kubeconfig": kubeconfig("    client-key-data: aGVsbG8=", "")}, "", "client-key-data"},
		{"no current context", map[string]string{"kubeconfig": strings.Replace(kubeconfig("    token: abc", ""), "current-context: c", "", 1)}, "", "current-context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseContent(c.content)
			if c.field == "" {
				if err != nil || got.Runtime != c.runtime {
					t.Fatalf("got %+v, %v", got, err)
				}
				for _, k := range got.Secret {
					if _, shown := got.Public[k]; shown {
						t.Fatalf("secret %s is public", k)
					}
				}
				return
			}
			if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v, want invalid naming %q", err, c.field)
			}
		})
	}
}

func TestFieldRules(t *testing.T) {
	for _, c := range []struct {
		err error
		ok  bool
	}{
		{CheckZone("pek3a"), true}, {CheckZone("a"), true}, {CheckZone("-a"), false}, {CheckZone("A"), false},
		{CheckZone(strings.Repeat("a", 64)), false}, {CheckZone(""), false},
		{CheckLabel("a", "v"), true}, {CheckLabel("a_b-C9", "v"), true}, {CheckLabel("a_", "v"), false},
		{CheckLabel("_a", "v"), false}, {CheckLabel("a", ""), false}, {CheckLabel("a", strings.Repeat("v", 256)), false},
		{CheckName("name", " x", true), false}, {CheckName("name", "", false), true}, {CheckName("name", "", true), false},
		{CheckOwner("owner", "alice"), true}, {CheckOwner("owner", "a b"), false}, {CheckOwner("owner", ""), false},
	} {
		if (c.err == nil) != c.ok {
			t.Errorf("got %v, want ok=%v", c.err, c.ok)
		}
	}
	if id := NewID(KindRuntimeEnv); !strings.HasPrefix(id, "re-") || len(id) != 19 {
		t.Errorf("NewID = %q", id)
	}
}
