package runtimeenv_test

import (
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Tokens forged as the API issues them: see lt.FuzzTokenCall.

func FuzzDescribeRuntimeEnvsToken(f *testing.F) {
	e := lt.New(f)
	id := e.RuntimeEnv(f, lt.Alice, "name", "seed1")
	e.RuntimeEnv(f, lt.Alice, "name", "seed2", "visibility", "public")
	after := e.IssuedAfter(f, "DescribeRuntimeEnvs")
	f.Add(uint8(0), "page_size=1", after)
	f.Add(uint8(1), "page_size=1&visibility=public", after)
	f.Add(uint8(2), "page_size=1&status=active&status=deleted&owners=alice&verbose=1", after)
	f.Add(uint8(0), "page_size=1&runtime_env_ids="+id, after)
	f.Add(uint8(0), "page_size=1&search_word=SEED&runtime=kubernetes", after[:len(after)/2])
	f.Add(uint8(1), "page_size=100", "\xff\x00")
	f.Add(uint8(0), "page_size=5", strings.Repeat("G", 1000)) // near DynamoDB's 1024-byte sort key limit
	f.Add(uint8(2), "next_token=x", "")
	f.Fuzz(func(t *testing.T, who uint8, query, after string) {
		e.FuzzTokenCall(t, who, "DescribeRuntimeEnvs", query, after)
	})
}
