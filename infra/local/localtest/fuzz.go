package localtest

import (
	"net/url"
	"testing"
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
