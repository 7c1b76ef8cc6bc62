package service_test

import (
	"fmt"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// CreateProject takes the environment API's is_public and project_type:
// is_public decides visibility (and must agree with it when both are
// given); yaml is the only project type, shown on every project.
func TestProjectIsPublicAndType(t *testing.T) {
	e := lt.New(t)
	cases := []struct {
		name string
		body map[string]any
		vis  string // the visibility created; "" when refused
		says string // what the refusal names
		also string // ... and also
	}{
		{"is_public true", map[string]any{"is_public": true}, "public", "", ""},
		{"is_public false", map[string]any{"is_public": false}, "private", "", ""},
		{"neither", map[string]any{}, "private", "", ""},
		{"visibility alone", map[string]any{"visibility": "public"}, "public", "", ""},
		{"agree public", map[string]any{"is_public": true, "visibility": "public"}, "public", "", ""},
		{"agree private", map[string]any{"is_public": false, "visibility": "private"}, "private", "", ""},
		{"yaml", map[string]any{"project_type": "yaml", "is_public": true}, "public", "", ""},
		{"null is_public", map[string]any{"is_public": nil, "visibility": "public"}, "public", "", ""},
		{"disagree true/private", map[string]any{"is_public": true, "visibility": "private"}, "", "is_public", "visibility"},
		{"disagree false/public", map[string]any{"is_public": false, "visibility": "public"}, "", "is_public", "visibility"},
		{"is_public with a bad visibility", map[string]any{"is_public": true, "visibility": "all"}, "", "visibility", ""},
		{"is_public a string", map[string]any{"is_public": "true"}, "", "is_public", ""},
		{"helm", map[string]any{"project_type": "helm"}, "", "project_type", `"yaml"`},
		{"empty type", map[string]any{"project_type": ""}, "", "project_type", `"yaml"`},
		{"YAML upper case", map[string]any{"project_type": "YAML"}, "", "project_type", `"yaml"`},
		{"type a number", map[string]any{"project_type": 1}, "", "project_type", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := fmt.Sprintf("p%d", i)
			body := map[string]any{"project_key": key}
			for k, v := range c.body {
				body[k] = v
			}
			r := e.Call(lt.Alice, "CreateProject", lt.Req{Body: body})
			if c.vis == "" {
				lt.Failed(t, r, 400, c.says)
				if msg, _ := r.Body["message"].(string); !strings.Contains(msg, c.also) {
					t.Errorf("message %q does not name %q", msg, c.also)
				}
				lt.Failed(t, e.Call(lt.Alice, "GetProject", lt.Req{Query: pk(key)}), 404, key)
				return
			}
			lt.Success(t, r)
			got := e.Call(lt.Alice, "GetProject", lt.Req{Query: pk(key)})
			if got.Body["visibility"] != c.vis || got.Body["project_type"] != "yaml" {
				t.Errorf("project %s", got.Raw)
			}
			// bob sees exactly the public ones
			if seen := e.Call(lt.Bob, "GetProject", lt.Req{Query: pk(key)}).Status == 200; seen != (c.vis == "public") {
				t.Errorf("bob sees a %s project: %v", c.vis, seen)
			}
		})
	}
	r := e.Call(lt.Alice, "ListProjects", lt.Req{})
	for _, p := range r.Body["projects"].([]any) {
		if p.(map[string]any)["project_type"] != "yaml" {
			t.Errorf("listed without project_type yaml: %v", p)
		}
	}
}

// UpdateProject takes is_public as create does, and the view shows it.
func TestUpdateProjectIsPublic(t *testing.T) {
	e := lt.New(t)
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "shop"}}))
	for _, c := range []struct {
		body   map[string]any
		public any // the view's is_public after; nil when refused
	}{
		{map[string]any{"is_public": true}, true},
		{map[string]any{"is_public": false, "visibility": "private"}, false},
		{map[string]any{"is_public": true, "visibility": "private"}, nil},
		{map[string]any{"visibility": "public"}, true},
	} {
		r := e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk("shop"), Body: c.body})
		if c.public == nil {
			lt.Failed(t, r, 400, "is_public")
			continue
		}
		lt.Success(t, r)
		if got := e.Call(lt.Alice, "GetProject", lt.Req{Query: pk("shop")}); got.Body["is_public"] != c.public {
			t.Errorf("%v: %s", c.body, got.Raw)
		}
	}
}

// A project key never holds "-env": its namespaces are <key>-env-..., and no
// key may make them another project's prefix.
func TestProjectKeyHoldsNoEnv(t *testing.T) {
	e := lt.New(t)
	for _, key := range []string{"a-env", "a-env-b", "shop-envoy"} {
		lt.Failed(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": key}}), 400, "project_key")
	}
	lt.Success(t, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "environs"}}))
}
