package credential_test

import (
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Every request decoder of the area, fed arbitrary input through the Lambda
// adapter against DynamoDB Local: no input may produce a 5xx.

func seedPair(f *testing.F) (*lt.Env, string, string) {
	e := lt.New(f)
	env := e.RuntimeEnv(f, lt.Alice, "runtime", "kubernetes", "endpoint", "https://k8s.example.com", "zone", "default", "visibility", "public")
	cred := makeCred(f, e, lt.Alice, with(qcBody("AK", "SK"), "name", "seed"))
	return e, env, cred
}

func FuzzCreateRuntimeEnvCredential(f *testing.F) {
	e, _, _ := seedPair(f)
	f.Add(uint8(0), `{"name":"k","content":{"access_key_id":"a","secret_access_key":"s"}}`)
	f.Add(uint8(1), `{"content":{"kubeconfig":"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    exec: {command: sh}"}}`)
	f.Add(uint8(2), `{"owner":"bob","content":{"server":"https://k","token":"t","certificate_authority_data":"eA=="}}`)
	f.Add(uint8(0), `{"content":{"kubeconfig":"{{{"}}`)
	f.Fuzz(func(t *testing.T, who uint8, body string) {
		e.FuzzCall(t, who, "CreateRuntimeEnvCredential", nil, "", body)
	})
}

func FuzzDescribeRuntimeEnvCredentials(f *testing.F) {
	e, _, cred := seedPair(f)
	f.Add(uint8(0), "verbose=1&runtime_env_credential_ids="+cred)
	f.Add(uint8(2), "owner=alice&search_word=SEED&page_size=100&page_number=3")
	f.Add(uint8(1), "next_token=%%&owner=%00")
	f.Fuzz(func(t *testing.T, who uint8, query string) {
		e.FuzzCall(t, who, "DescribeRuntimeEnvCredentials", nil, query, "")
	})
}

func FuzzModifyRuntimeEnvCredential(f *testing.F) {
	e, _, cred := seedPair(f)
	f.Add(uint8(0), cred, `{"name":"n","content":{"access_key_id":"a","secret_access_key":"s2"}}`)
	f.Add(uint8(2), cred, `{"owner":"bob","version":9}`)
	f.Add(uint8(1), "rec-x", `{"content":null}`)
	f.Fuzz(func(t *testing.T, who uint8, id, body string) {
		e.FuzzCall(t, who, "ModifyRuntimeEnvCredential", map[string]string{"runtime_env_credential_id": id}, "", body)
	})
}

func FuzzDeleteRuntimeEnvCredential(f *testing.F) {
	e, _, cred := seedPair(f)
	f.Add(uint8(1), cred, "")
	f.Add(uint8(0), "rec-", "a=b")
	f.Fuzz(func(t *testing.T, who uint8, id, query string) {
		e.FuzzCall(t, who, "DeleteRuntimeEnvCredential", map[string]string{"runtime_env_credential_id": id}, query, "")
	})
}

func fuzzLink(f *testing.F, action string) {
	e, env, cred := seedPair(f)
	f.Add(uint8(0), env, cred, "")
	f.Add(uint8(1), env, cred, "x=y")
	f.Add(uint8(2), "re-"+cred, "rec-", "")
	f.Fuzz(func(t *testing.T, who uint8, envID, credID, query string) {
		e.FuzzCall(t, who, action, map[string]string{"runtime_env_id": envID, "runtime_env_credential_id": credID}, query, "")
	})
}

func FuzzAttachCredentialToRuntimeEnv(f *testing.F)   { fuzzLink(f, "AttachCredentialToRuntimeEnv") }
func FuzzDetachCredentialFromRuntimeEnv(f *testing.F) { fuzzLink(f, "DetachCredentialFromRuntimeEnv") }
