package localtest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/envhub/envhub/shared/api"
)

// Users is every kind of caller, for fuzz targets to pick from.
var Users = []User{Alice, Bob, Admin}

// FuzzCall sends one fuzzed request to action and fails on anything but a
// well-formed 2xx/4xx answer from that action: bad input must never be a 5xx.
func (e *Env) FuzzCall(t *testing.T, who uint8, action string, path map[string]string, rawQuery, body string) {
	t.Helper()
	q, _ := url.ParseQuery(rawQuery) // keep what parses, as API Gateway would pass it on
	r := e.call(t, Users[int(who)%len(Users)], action, Req{Path: path, Query: q, Body: body})
	if r.Status >= 500 {
		t.Fatalf("%s: %d %s", action, r.Status, r.Raw)
	}
	if route(t, action).OpenAPI() {
		if r.Status != 200 && (r.Body["code"] != float64(r.Status) || r.Body["message"] == "") {
			t.Fatalf("%s: error body %s", action, r.Raw)
		}
		return
	}
	if r.Body["action"] != action+"Response" {
		t.Fatalf("%s: answered as %v: %s", action, r.Body["action"], r.Raw)
	}
	if (r.Status == 200) != (r.Body["ret_code"] == float64(0)) {
		t.Fatalf("%s: status %d with ret_code %v", action, r.Status, r.Body["ret_code"])
	}
}

// The list targets forge next_tokens as the API issues them (page.Page.Info
// for the same query): random input never matches a token's filter hash, so
// only a forged token gets the continuation key it carries fuzzed.

// FuzzTokenCall is FuzzCall on a list action with rawQuery's next_token
// replaced by one continuing after `after`, issued for rawQuery's own
// filters. rawQuery is sent as is when after is empty, and without a token
// when its paging does not parse.
func (e *Env) FuzzTokenCall(t *testing.T, who uint8, action, rawQuery, after string) {
	t.Helper()
	e.FuzzCall(t, who, action, nil, forgeToken(rawQuery, after), "")
}

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

// IssuedAfter is the continuation key of a token the API issued: Alice's
// first page of one item (she must see at least two).
func (e *Env) IssuedAfter(f *testing.F, action string) string {
	r := e.Call(Alice, action, Req{Query: url.Values{"page_size": {"1"}}})
	OK(f, r)
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
