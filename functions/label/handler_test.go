package label_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

func newLabel(t testing.TB, e *lt.Env, u lt.User, env, k, v string) string {
	t.Helper()
	r := e.Call(u, "CreateRuntimeEnvLabel", lt.Req{Body: map[string]any{"runtime_env_id": env, "label_key": k, "label_value": v}})
	lt.OK(t, r)
	if r.Body["action"] != "CreateRuntimeEnvLabelResponse" || !strings.HasPrefix(r.Body["runtime_env_label_id"].(string), "rel-") {
		t.Fatalf("response %s", r.Raw)
	}
	return r.Body["runtime_env_label_id"].(string)
}

func list(t *testing.T, e *lt.Env, u lt.User, q url.Values) (keys []string, body map[string]any) {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvLabels", lt.Req{Query: q})
	lt.OK(t, r)
	for _, it := range r.Body["runtime_env_label_set"].([]any) {
		m := it.(map[string]any)
		keys = append(keys, m["label_key"].(string)+"="+m["label_value"].(string))
	}
	return keys, r.Body
}

func envLabels(t *testing.T, e *lt.Env, u lt.User, env string) int {
	t.Helper()
	r := e.Call(u, "DescribeRuntimeEnvs", lt.Req{Query: url.Values{"runtime_env_ids": {env}}})
	lt.OK(t, r)
	return len(r.Body["runtime_env_set"].([]any)[0].(map[string]any)["runtime_env_labels"].([]any))
}

func TestLabelRules(t *testing.T) {
	e := lt.New(t)
	env := e.RuntimeEnv(t, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "private")
	newLabel(t, e, lt.Alice, env, "tier", "gold")
	cases := []struct {
		name   string
		user   lt.User
		body   any
		status int
		field  string
	}{
		{"no env", lt.Alice, map[string]any{"label_key": "a", "label_value": "b"}, 400, "runtime_env_id"},
		{"bad env id", lt.Alice, map[string]any{"runtime_env_id": "rel-x", "label_key": "a", "label_value": "b"}, 400, "runtime_env_id"},
		{"missing env", lt.Alice, map[string]any{"runtime_env_id": "re-missing", "label_key": "a", "label_value": "b"}, 404, "runtime_env"},
		{"no key", lt.Alice, map[string]any{"runtime_env_id": env, "label_value": "b"}, 400, "label_key"},
		{"key starts with digit", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "1a", "label_value": "b"}, 400, "label_key"},
		{"key ends with dash", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a-", "label_value": "b"}, 400, "label_key"},
		{"key with dot", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a.b", "label_value": "b"}, 400, "label_key"},
		{"key 51 chars", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a" + strings.Repeat("b", 50), "label_value": "b"}, 400, "label_key"},
		{"no value", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a"}, 400, "label_value"},
		{"value 256 chars", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a", "label_value": strings.Repeat("v", 256)}, 400, "label_value"},
		{"duplicate key", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "tier", "label_value": "silver"}, 409, "label_key"},
		{"other user's env", lt.Bob, map[string]any{"runtime_env_id": env, "label_key": "a", "label_value": "b"}, 404, "runtime_env"},
		{"unknown field", lt.Alice, map[string]any{"runtime_env_id": env, "label_key": "a", "label_value": "b", "x": 1}, 400, "x"},
		{"anonymous", lt.Anonymous, map[string]any{"runtime_env_id": env, "label_key": "a", "label_value": "b"}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Call(c.user, "CreateRuntimeEnvLabel", lt.Req{Body: c.body})
			if r.Status != c.status {
				t.Fatalf("got %d %s, want %d", r.Status, r.Raw, c.status)
			}
			if msg, _ := r.Body["message"].(string); !strings.Contains(msg, c.field) {
				t.Fatalf("message %q does not name %q", msg, c.field)
			}
		})
	}
	if n := envLabels(t, e, lt.Alice, env); n != 1 {
		t.Fatalf("bad input changed labels: %d", n)
	}
	// The longest valid key and value are accepted.
	newLabel(t, e, lt.Alice, env, "a"+strings.Repeat("_", 48)+"z", strings.Repeat("v", 255))
}

func TestLabelLifecycleAndVisibility(t *testing.T) {
	e := lt.New(t)
	private := e.RuntimeEnv(t, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "private")
	public := e.RuntimeEnv(t, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "public")
	lp := newLabel(t, e, lt.Alice, private, "tier", "gold")
	lq := newLabel(t, e, lt.Alice, public, "tier", "silver")
	newLabel(t, e, lt.Alice, public, "region", "east")

	if keys, _ := list(t, e, lt.Bob, nil); len(keys) != 2 {
		t.Fatalf("bob sees %v", keys)
	}
	if keys, _ := list(t, e, lt.Alice, nil); len(keys) != 3 {
		t.Fatalf("alice sees %v", keys)
	}
	if keys, _ := list(t, e, lt.Admin, url.Values{"runtime_env_labels": {"tier"}}); len(keys) != 2 {
		t.Fatalf("admin tier selector: %v", keys)
	}
	if keys, _ := list(t, e, lt.Alice, url.Values{"runtime_env_labels": {"tier=gold"}}); len(keys) != 1 || keys[0] != "tier=gold" {
		t.Fatalf("tier=gold: %v", keys)
	}
	if keys, body := list(t, e, lt.Alice, url.Values{"runtime_env_id": {public}, "verbose": {"1"}}); len(keys) != 2 ||
		body["runtime_env_label_set"].([]any)[0].(map[string]any)["runtime_env"].(map[string]any)["runtime_env_id"] != public {
		t.Fatalf("by env, verbose: %v %v", keys, body)
	}
	if r := e.Call(lt.Bob, "DescribeRuntimeEnvLabels", lt.Req{Query: url.Values{"runtime_env_id": {private}}}); r.Status != 404 {
		t.Fatalf("bob lists labels of a private env: %d", r.Status)
	}
	for name, q := range map[string]url.Values{
		"bad selector": {"runtime_env_labels": {"=x"}}, "empty value": {"runtime_env_labels": {"a="}},
		"bad env": {"runtime_env_id": {"x"}}, "unknown": {"label": {"x"}}, "page": {"page_size": {"1000"}},
	} {
		if r := e.Call(lt.Alice, "DescribeRuntimeEnvLabels", lt.Req{Query: q}); r.Status != 400 {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}

	// Modify: rights follow the env; keys stay unique.
	path := func(id string) map[string]string { return map[string]string{"runtime_env_label_id": id} }
	if r := e.Call(lt.Bob, "ModifyRuntimeEnvLabel", lt.Req{Path: path(lq), Body: map[string]any{"label_value": "x"}}); r.Status != 403 {
		t.Fatalf("bob modifies a public env's label: %d", r.Status)
	}
	if r := e.Call(lt.Bob, "ModifyRuntimeEnvLabel", lt.Req{Path: path(lp), Body: map[string]any{"label_value": "x"}}); r.Status != 404 {
		t.Fatalf("bob modifies a private env's label: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvLabel", lt.Req{Path: path(lq), Body: map[string]any{"label_key": "region"}}); r.Status != 409 {
		t.Fatalf("duplicate key on modify: %d", r.Status)
	}
	if r := e.Call(lt.Alice, "ModifyRuntimeEnvLabel", lt.Req{Path: path(lq), Body: map[string]any{"label_key": "9"}}); r.Status != 400 {
		t.Fatalf("bad key on modify: %d", r.Status)
	}
	r := e.Call(lt.Alice, "ModifyRuntimeEnvLabel", lt.Req{Path: path(lq), Body: map[string]any{"label_value": "bronze"}})
	lt.OK(t, r)
	if r.Body["runtime_env_label_id"] != lq {
		t.Fatalf("modify response %s", r.Raw)
	}
	if keys, _ := list(t, e, lt.Bob, url.Values{"runtime_env_labels": {"tier=bronze"}}); len(keys) != 1 {
		t.Fatalf("after modify: %v", keys)
	}

	// A label follows its env's visibility.
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": public}, Body: map[string]any{"visibility": "private"}}))
	if keys, body := list(t, e, lt.Bob, nil); len(keys) != 0 || body["total_count"] != float64(0) {
		t.Fatalf("bob still sees labels of a now private env: %v %v", keys, body["total_count"])
	}

	// Delete is soft and frees the key.
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnvLabel", lt.Req{Path: path(lq)}))
	if r := e.Call(lt.Alice, "DeleteRuntimeEnvLabel", lt.Req{Path: path(lq)}); r.Status != 404 {
		t.Fatalf("second delete: %d", r.Status)
	}
	if n := envLabels(t, e, lt.Alice, public); n != 1 {
		t.Fatalf("env still embeds %d labels", n)
	}
	newLabel(t, e, lt.Alice, public, "tier", "again")

	// Deleting the env deletes its labels.
	lt.OK(t, e.Call(lt.Alice, "DeleteRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": public}}))
	if keys, body := list(t, e, lt.Alice, nil); len(keys) != 1 || body["total_count"] != float64(1) {
		t.Fatalf("labels of a deleted env: %v", keys)
	}
}

func TestLabelLimitAndPaging(t *testing.T) {
	e := lt.New(t)
	env := e.RuntimeEnv(t, lt.Alice, "name", "e", "endpoint", "https://k8s.example.com", "visibility", "private")
	for i := 0; i < 30; i++ {
		newLabel(t, e, lt.Alice, env, fmt.Sprintf("k%02d", i), "v")
	}
	r := e.Call(lt.Alice, "CreateRuntimeEnvLabel", lt.Req{Body: map[string]any{"runtime_env_id": env, "label_key": "one-more", "label_value": "v"}})
	if r.Status != 409 {
		t.Fatalf("31st label: %d %s", r.Status, r.Raw)
	}
	keys, body := list(t, e, lt.Alice, url.Values{"runtime_env_id": {env}, "page_size": {"20"}, "page_number": {"2"}})
	if len(keys) != 10 || body["total_count"] != float64(30) || body["total_pages"] != float64(2) || keys[0] != "k09=v" {
		t.Fatalf("page 2: %v %v", keys, body)
	}
	// Visibility changes carry all 30 labels in one transaction.
	lt.OK(t, e.Call(lt.Alice, "ModifyRuntimeEnv", lt.Req{Path: map[string]string{"runtime_env_id": env}, Body: map[string]any{"visibility": "public"}}))
	if _, body := list(t, e, lt.Bob, nil); body["total_count"] != float64(30) {
		t.Fatalf("bob sees %v labels", body["total_count"])
	}
}
