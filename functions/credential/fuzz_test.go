package credential_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/api"
)

// The targets in decode_fuzz_test.go never get past a next_token: a token is
// bound to a hash of the query's filters, which random input does not match.
// This one forges tokens as the API issues them (api.Page.Info for the same
// query), so the continuation key a token carries is fuzzed too.

func FuzzDescribeRuntimeEnvCredentialsToken(f *testing.F) {
	e := lt.New(f)
	id := newCred(f, e, lt.Alice, map[string]any{"name": "seed1", "content": qcContent("AK1", "SK1")})
	newCred(f, e, lt.Alice, map[string]any{"name": "seed2", "content": qcContent("AK2", "SK2")})
	after := issuedAfter(f, e, "DescribeRuntimeEnvCredentials")
	f.Add(uint8(0), "page_size=1", after)
	f.Add(uint8(2), "page_size=1&owner=alice&verbose=1", after)
	f.Add(uint8(0), "page_size=1&runtime_env_credential_ids="+id, after)
	f.Add(uint8(1), "page_size=1&search_word=SEED", after[:len(after)/2])
	f.Add(uint8(0), "page_size=100", "\xff\x00")
	f.Add(uint8(0), "page_size=5", strings.Repeat("G", 1000)) // near DynamoDB's 1024-byte sort key limit
	f.Add(uint8(2), "next_token=x", "")
	f.Fuzz(func(t *testing.T, who uint8, query, after string) {
		e.FuzzCall(t, who, "DescribeRuntimeEnvCredentials", nil, forgeToken(query, after), "")
	})
}

// forgeToken replaces rawQuery's next_token with one continuing after
// `after`, issued for rawQuery's own filters. rawQuery is sent as is when
// after is empty, and without a token when its paging does not parse.
func forgeToken(rawQuery, after string) string {
	if after == "" {
		return rawQuery
	}
	v, _ := url.ParseQuery(rawQuery)
	v.Del("next_token")
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.RawQuery = v.Encode()
	q, err := api.ParseQuery(r, slices.Collect(maps.Keys(v))...)
	if err != nil {
		return v.Encode()
	}
	p, err := api.ParsePage(q)
	if err != nil {
		return v.Encode()
	}
	v.Set("next_token", p.Info(1, after, true).NextToken)
	return v.Encode()
}

// issuedAfter is the continuation key of a token the API issued: Alice's
// first page of one item (she must see at least two).
func issuedAfter(f *testing.F, e *lt.Env, action string) string {
	r := e.Call(lt.Alice, action, lt.Req{Query: url.Values{"page_size": {"1"}}})
	lt.OK(f, r)
	tok, _ := r.Body["next_token"].(string)
	var t struct {
		After string `json:"a"`
	}
	data, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(data, &t) != nil || t.After == "" {
		f.Fatalf("%s: no token to learn from: %s", action, r.Raw)
	}
	return t.After
}
