package label_test

import (
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Every request decoder of the area, fed arbitrary input through the Lambda
// adapter against DynamoDB Local: no input may produce a 5xx.

func seedLabel(f *testing.F) (*lt.Env, string, string) {
	e := lt.New(f)
	env := e.RuntimeEnv(f, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "public")
	return e, env, newLabel(f, e, lt.Alice, env, "tier", "gold")
}

func FuzzCreateRuntimeEnvLabel(f *testing.F) {
	e, env, _ := seedLabel(f)
	f.Add(uint8(0), `{"runtime_env_id":"`+env+`","label_key":"a","label_value":"b"}`)
	f.Add(uint8(1), `{"runtime_env_id":"`+env+`","label_key":"tier","label_value":"x"}`)
	f.Add(uint8(2), `{"runtime_env_id":"re-","label_key":"-","label_value":""}`)
	f.Fuzz(func(t *testing.T, who uint8, body string) {
		e.FuzzCall(t, who, "CreateRuntimeEnvLabel", nil, "", body)
	})
}

func FuzzDescribeRuntimeEnvLabels(f *testing.F) {
	e, env, _ := seedLabel(f)
	f.Add(uint8(0), "runtime_env_id="+env+"&verbose=1")
	f.Add(uint8(1), "runtime_env_labels=tier%3Dgold&runtime_env_labels=x")
	f.Add(uint8(2), "runtime_env_labels=%3D&page_size=0")
	f.Fuzz(func(t *testing.T, who uint8, query string) {
		e.FuzzCall(t, who, "DescribeRuntimeEnvLabels", nil, query, "")
	})
}

func FuzzModifyRuntimeEnvLabel(f *testing.F) {
	e, _, label := seedLabel(f)
	f.Add(uint8(0), label, `{"label_value":"silver"}`)
	f.Add(uint8(1), label, `{"label_key":"9","version":-1}`)
	f.Add(uint8(2), "rel-x", `[]`)
	f.Fuzz(func(t *testing.T, who uint8, id, body string) {
		e.FuzzCall(t, who, "ModifyRuntimeEnvLabel", map[string]string{"runtime_env_label_id": id}, "", body)
	})
}

func FuzzDeleteRuntimeEnvLabel(f *testing.F) {
	e, _, label := seedLabel(f)
	f.Add(uint8(0), label, "")
	f.Add(uint8(1), "rel-%", "q")
	f.Fuzz(func(t *testing.T, who uint8, id, query string) {
		e.FuzzCall(t, who, "DeleteRuntimeEnvLabel", map[string]string{"runtime_env_label_id": id}, query, "")
	})
}
