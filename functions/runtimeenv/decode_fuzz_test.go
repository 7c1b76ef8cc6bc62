package runtimeenv_test

import (
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Every request decoder of the area, fed arbitrary input through the Lambda
// adapter against DynamoDB Local: no input may produce a 5xx.

func FuzzCreateRuntimeEnv(f *testing.F) {
	e := lt.New(f)
	f.Add(uint8(0), `{"runtime":"kubernetes","name":"a","endpoint":"https://k8s.example.com","zone":"default"}`)
	f.Add(uint8(2), `{"runtime":"qingcloud","name":"q","endpoint":"https://api.qingcloud.com/iaas/","zone":"pek3a","owner":"bob","visibility":"public"}`)
	f.Add(uint8(1), `{"runtime":"kubernetes","name":"a","endpoint":"https://[::ffff:169.254.169.254]","zone":"x"}`)
	f.Add(uint8(0), `{"name":"\u0000","runtime":[]}`)
	f.Add(uint8(0), `nul`)
	f.Fuzz(func(t *testing.T, who uint8, body string) {
		e.FuzzCall(t, who, "CreateRuntimeEnv", nil, "", body)
	})
}

func FuzzDescribeRuntimeEnvs(f *testing.F) {
	e := lt.New(f)
	e.RuntimeEnv(f, lt.Alice, "name", "seed")
	f.Add(uint8(0), "page_size=10&verbose=1&status=active&status=deleted")
	f.Add(uint8(1), "search_word=%ff&owners=alice&owners=bob&visibility=public")
	f.Add(uint8(2), "runtime_env_ids=re-abc&runtime_env_label_ids=rel-x&next_token=eyJhIjoieCIsInAiOjJ9")
	f.Add(uint8(0), "page_number=1001&page_size=100")
	f.Fuzz(func(t *testing.T, who uint8, query string) {
		e.FuzzCall(t, who, "DescribeRuntimeEnvs", nil, query, "")
	})
}

func FuzzModifyRuntimeEnv(f *testing.F) {
	e := lt.New(f)
	id := e.RuntimeEnv(f, lt.Alice, "name", "seed", "visibility", "public")
	f.Add(uint8(0), id, `{"name":"n","description":"d","visibility":"private"}`)
	f.Add(uint8(1), id, `{"owner":"carol","version":1}`)
	f.Add(uint8(2), "re-nope", `{"name":""}`)
	f.Fuzz(func(t *testing.T, who uint8, id, body string) {
		e.FuzzCall(t, who, "ModifyRuntimeEnv", map[string]string{"runtime_env_id": id}, "", body)
	})
}

func FuzzDeleteRuntimeEnv(f *testing.F) {
	e := lt.New(f)
	id := e.RuntimeEnv(f, lt.Alice, "name", "seed")
	f.Add(uint8(1), id, "")
	f.Add(uint8(0), id, "x=1")
	f.Add(uint8(2), "re-\u00e9", "")
	f.Fuzz(func(t *testing.T, who uint8, id, query string) {
		e.FuzzCall(t, who, "DeleteRuntimeEnv", map[string]string{"runtime_env_id": id}, query, "")
	})
}
