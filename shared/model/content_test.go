package model

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/shared/api"
)

func testCA(t *testing.T) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

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

func TestParseContent(t *testing.T) {
	ca := testCA(t)
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
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
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
	if id := NewID(KindEnv); !strings.HasPrefix(id, "re-") || len(id) != 19 {
		t.Errorf("NewID = %q", id)
	}
}
