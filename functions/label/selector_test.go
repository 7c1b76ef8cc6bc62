package label_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// listIDs is DescribeRuntimeEnvLabels' label ids (sorted) and total_count for items.
func listIDs(t *testing.T, e *lt.Env, u lt.User, items ...string) ([]string, float64) {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvLabels", lt.Req{Query: url.Values{"runtime_env_labels": items}})
	lt.OK(t, r)
	var ids []string
	for _, it := range r.Body["runtime_env_label_set"].([]any) {
		ids = append(ids, it.(map[string]any)["runtime_env_label_id"].(string))
	}
	slices.Sort(ids)
	total, _ := r.Body["total_count"].(float64)
	return ids, total
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// runtime_env_labels items select labels by id too: a bare label id, or
// the spec's Request Item as a JSON object with any of its three fields;
// every item is one more "any of" choice, as the key selectors are.
func TestLabelSelectorsByID(t *testing.T) {
	e := lt.New(t)
	pub := e.RuntimeEnv(t, lt.Alice, "name", "pub", "visibility", "public")
	priv := e.RuntimeEnv(t, lt.Alice, "name", "priv", "visibility", "private")
	gold := newLabel(t, e, lt.Alice, pub, "tier", "gold")
	east := newLabel(t, e, lt.Alice, pub, "region", "east")
	silver := newLabel(t, e, lt.Alice, priv, "tier", "silver")
	west := newLabel(t, e, lt.Alice, priv, "region", "west")
	gone := newLabel(t, e, lt.Alice, pub, "old", "x")
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvLabel", lt.Req{Path: map[string]string{"runtime_env_label_id": gone}}))
	const missing = "rel-0000000000000000"

	cases := []struct {
		name  string
		user  lt.User
		items []string
		want  []string
	}{
		{"one id", lt.Alice, []string{gold}, []string{gold}},
		{"two ids", lt.Alice, []string{gold, west}, []string{gold, west}},
		{"same id twice", lt.Alice, []string{gold, gold}, []string{gold}},
		{"unknown id", lt.Alice, []string{missing}, nil},
		{"deleted label", lt.Alice, []string{gone}, nil},
		{"private env's label for bob", lt.Bob, []string{silver, gold}, []string{gold}},
		{"admin reads any", lt.Admin, []string{silver, gold}, []string{gold, silver}},
		{"id or key", lt.Alice, []string{east, "tier"}, []string{east, gold, silver}},
		{"id or key=value", lt.Alice, []string{east, "tier=silver"}, []string{east, silver}},
		{"id or a key nothing has", lt.Alice, []string{west, "nope"}, []string{west}},
		{"object id", lt.Alice, []string{`{"runtime_env_label_id":"` + gold + `"}`}, []string{gold}},
		{"object id and key agree", lt.Alice, []string{`{"runtime_env_label_id":"` + gold + `","label_key":"tier"}`}, []string{gold}},
		{"object id and key disagree", lt.Alice, []string{`{"runtime_env_label_id":"` + gold + `","label_key":"region"}`}, nil},
		{"object all three", lt.Alice, []string{`{"runtime_env_label_id":"` + west + `","label_key":"region","label_value":"west"}`}, []string{west}},
		{"object key", lt.Alice, []string{`{"label_key":"tier"}`}, []string{gold, silver}},
		{"object key and value", lt.Alice, []string{`{"label_key":"tier","label_value":"gold"}`}, []string{gold}},
		{"object value alone", lt.Alice, []string{`{"label_value":"west"}`}, []string{west}},
		{"object null field", lt.Alice, []string{`{"label_key":"region","label_value":null}`}, []string{east, west}},
		{"object or id or selector", lt.Alice, []string{`{"label_value":"west"}`, gold, "tier=silver"}, []string{gold, silver, west}},
		{"bob, object by id of a private label", lt.Bob, []string{`{"runtime_env_label_id":"` + west + `"}`}, nil},
		// A word shaped like an id but not one stays a key selector.
		{"key looking like an id prefix", lt.Alice, []string{"rel-abc"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, total := listIDs(t, e, c.user, c.items...)
			if want := sorted(c.want...); !slices.Equal(got, want) || total != float64(len(want)) {
				t.Errorf("items %v: got %v (total %v), want %v", c.items, got, total, want)
			}
		})
	}

	// Paging over labels read by id.
	r := e.Call(lt.Alice, "DescribeRuntimeEnvLabels", lt.Req{Query: url.Values{"runtime_env_labels": {gold, east, west}, "page_size": {"2"}}})
	lt.OK(t, r)
	if n := len(r.Body["runtime_env_label_set"].([]any)); n != 2 || r.Body["total_count"] != float64(3) {
		t.Errorf("paged by id: %d items, total %v", n, r.Body["total_count"])
	}
	// Ids combine with runtime_env_id as every filter does.
	if ids, _ := listIDsWith(t, e, url.Values{"runtime_env_labels": {gold, west}, "runtime_env_id": {priv}}); !slices.Equal(ids, []string{west}) {
		t.Errorf("ids within one env: %v", ids)
	}
}

func listIDsWith(t *testing.T, e *lt.Env, q url.Values) ([]string, float64) {
	t.Helper()
	r := e.Call(lt.Alice, "DescribeRuntimeEnvLabels", lt.Req{Query: q})
	lt.OK(t, r)
	var ids []string
	for _, it := range r.Body["runtime_env_label_set"].([]any) {
		ids = append(ids, it.(map[string]any)["runtime_env_label_id"].(string))
	}
	total, _ := r.Body["total_count"].(float64)
	return ids, total
}

// Bad items are 400s naming runtime_env_labels.
func TestLabelSelectorsRefused(t *testing.T) {
	e := lt.New(t)
	for name, item := range map[string]string{
		"empty object":       `{}`,
		"unknown field":      `{"label_key":"a","colour":"red"}`,
		"number value":       `{"label_value":1}`,
		"id not an id":       `{"runtime_env_label_id":"re-0000000000000000"}`,
		"empty id":           `{"runtime_env_label_id":""}`,
		"empty key":          `{"label_key":""}`,
		"bad key":            `{"label_key":"1a"}`,
		"empty value":        `{"label_key":"a","label_value":""}`,
		"value too long":     `{"label_value":"` + strings.Repeat("v", 256) + `"}`,
		"not JSON":           `{label_key: a}`,
		"truncated":          `{"label_key":"a"`,
		"trailing data":      `{"label_key":"a"} x`,
		"two objects":        `{"label_key":"a"}{"label_key":"b"}`,
		"extra brace":        `{"label_key":"a"}}`,
		"an array":           `[{"label_key":"a"}]`,
		"bad key selector":   `=x`,
		"empty value select": `a=`,
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Call(lt.Alice, "DescribeRuntimeEnvLabels", lt.Req{Query: url.Values{"runtime_env_labels": {item}}})
			if msg, _ := r.Body["message"].(string); r.Status != 400 || !strings.Contains(msg, "runtime_env_labels") {
				t.Errorf("%q: %d %s", item, r.Status, r.Raw)
			}
		})
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = "rel-000000000000000" + string(rune('a'+i%26))
	}
	if r := e.Call(lt.Alice, "DescribeRuntimeEnvLabels", lt.Req{Query: url.Values{"runtime_env_labels": many}}); r.Status != 400 {
		t.Errorf("21 items: %d", r.Status)
	}
}
