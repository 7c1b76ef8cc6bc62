package label_test

import (
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Tokens forged as the API issues them: see lt.FuzzTokenCall.

func FuzzDescribeRuntimeEnvLabelsToken(f *testing.F) {
	e := lt.New(f)
	env := e.RuntimeEnv(f, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "public")
	newLabel(f, e, lt.Alice, env, "tier", "gold")
	newLabel(f, e, lt.Alice, env, "zone", "east")
	after := e.IssuedAfter(f, "DescribeRuntimeEnvLabels")
	f.Add(uint8(0), "page_size=1", after)
	f.Add(uint8(1), "page_size=1&runtime_env_id="+env, after)
	f.Add(uint8(2), "page_size=1&runtime_env_labels=tier&runtime_env_labels=zone%3Deast&verbose=1", after)
	f.Add(uint8(0), "page_size=1&runtime_env_id="+env, after[:len(after)/2])
	f.Add(uint8(1), "page_size=100", "\xff\x00")
	f.Add(uint8(0), "page_size=5", strings.Repeat("G", 1000)) // near DynamoDB's 1024-byte sort key limit
	f.Add(uint8(2), "next_token=x", "")
	f.Fuzz(func(t *testing.T, who uint8, query, after string) {
		e.FuzzTokenCall(t, who, "DescribeRuntimeEnvLabels", query, after)
	})
}
