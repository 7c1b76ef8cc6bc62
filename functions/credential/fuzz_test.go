package credential_test

import (
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Tokens forged as the API issues them: see lt.FuzzTokenCall.

func FuzzDescribeRuntimeEnvCredentialsToken(f *testing.F) {
	e := lt.New(f)
	id := makeCred(f, e, lt.Alice, with(qcBody("AK1", "SK1"), "name", "seed1"))
	makeCred(f, e, lt.Alice, with(qcBody("AK2", "SK2"), "name", "seed2"))
	after := e.IssuedAfter(f, "DescribeRuntimeEnvCredentials")
	f.Add(uint8(0), "page_size=1", after)
	f.Add(uint8(2), "page_size=1&owner=alice&verbose=1", after)
	f.Add(uint8(0), "page_size=1&runtime_env_credential_ids="+id, after)
	f.Add(uint8(1), "page_size=1&search_word=SEED", after[:len(after)/2])
	f.Add(uint8(0), "page_size=100", "\xff\x00")
	f.Add(uint8(0), "page_size=5", strings.Repeat("G", 1000)) // near DynamoDB's 1024-byte sort key limit
	f.Add(uint8(2), "next_token=x", "")
	f.Fuzz(func(t *testing.T, who uint8, query, after string) {
		e.FuzzTokenCall(t, who, "DescribeRuntimeEnvCredentials", query, after)
	})
}
