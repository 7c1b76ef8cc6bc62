package service_test

import (
	"net/url"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

const tpl = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $Service$}\nspec:\n  replicas: {{ .replicas }}\n  selector: {matchLabels: {app: $Service$}}\n  template:\n    metadata: {labels: {app: $Service$}}\n    spec: {containers: [{name: main, image: \"{{ .image }}\"}]}\n"

var tplVars = []map[string]any{{"key": "replicas", "value": "1", "type": "string"}, {"key": "image", "value": "nginx:1.27", "type": "enum", "options": []string{"nginx:1.27", "nginx:1.28"}}}

func pk(key string) url.Values { return url.Values{"projectKey": {key}} }

func newProject(t testing.TB, e *lt.Env, u lt.User, key, vis string) {
	t.Helper()
	lt.Success(t, e.Call(u, "CreateProject", lt.Req{Body: map[string]any{"project_key": key, "project_name": "P " + key, "visibility": vis,
		"global_variables": []map[string]any{{"key": "replicas", "value": "2", "type": "string"}}}}))
}

func newTemplate(t testing.TB, e *lt.Env, u lt.User, project, name string) {
	t.Helper()
	lt.Success(t, e.Call(u, "CreateServiceTemplate", lt.Req{Query: pk(project), Body: map[string]any{"service_name": name, "yaml": tpl, "variables": tplVars}}))
}

func TestProjects(t *testing.T) {
	e := lt.New(t)
	newProject(t, e, lt.Alice, "shop", "private")
	newProject(t, e, lt.Alice, "blog", "public")
	r := e.Call(lt.Alice, "GetProject", lt.Req{Query: pk("shop")})
	if r.Status != 200 || r.Body["project_key"] != "shop" || r.Body["owner"] != "alice" || r.Body["version"] != float64(1) ||
		len(r.Body["global_variables"].([]any)) != 1 {
		t.Fatalf("detail %s", r.Raw)
	}
	for name, c := range map[string]struct {
		user   lt.User
		body   any
		status int
		says   string
	}{
		"no key":           {lt.Alice, map[string]any{"project_name": "x"}, 400, "project_key"},
		"bad key":          {lt.Alice, map[string]any{"project_key": "Shop_1"}, 400, "project_key"},
		"long key":         {lt.Alice, map[string]any{"project_key": strings.Repeat("a", 33)}, 400, "project_key"},
		"taken key":        {lt.Bob, map[string]any{"project_key": "shop"}, 409, "shop"},
		"bad visibility":   {lt.Alice, map[string]any{"project_key": "x", "visibility": "all"}, 400, "visibility"},
		"bad variable":     {lt.Alice, map[string]any{"project_key": "x", "global_variables": []map[string]any{{"key": "a", "type": "int"}}}, 400, "global_variables[0].type"},
		"bad bool default": {lt.Alice, map[string]any{"project_key": "x", "global_variables": []map[string]any{{"key": "a", "value": "yes", "type": "bool"}}}, 400, "global_variables[0].value"},
		"unknown field":    {lt.Alice, map[string]any{"project_key": "x", "colour": 1}, 400, "colour"},
		"other owner":      {lt.Alice, map[string]any{"project_key": "x", "owner": "bob"}, 403, "owner"},
		"anonymous":        {lt.Anonymous, map[string]any{"project_key": "x"}, 401, "unauthenticated"},
	} {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, e.Call(c.user, "CreateProject", lt.Req{Body: c.body}), c.status, c.says)
		})
	}
	list := func(u lt.User) []string {
		r := e.Call(u, "ListProjects", lt.Req{})
		var keys []string
		for _, p := range r.Body["projects"].([]any) {
			keys = append(keys, p.(map[string]any)["project_key"].(string))
		}
		return keys
	}
	if got := strings.Join(list(lt.Alice), ","); got != "blog,shop" {
		t.Fatalf("alice lists %s", got)
	}
	if got := strings.Join(list(lt.Bob), ","); got != "blog" {
		t.Fatalf("bob lists %s (private projects leak)", got)
	}
	lt.Failed(t, e.Call(lt.Bob, "GetProject", lt.Req{Query: pk("shop")}), 404, "shop")
	lt.Failed(t, e.Call(lt.Bob, "UpdateProject", lt.Req{Query: pk("blog"), Body: map[string]any{"description": "x"}}), 403, "project")
	lt.Failed(t, e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk("blog"), Body: map[string]any{"version": 7}}), 409, "version")
	lt.Failed(t, e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk("blog"), Body: map[string]any{"project_name": ""}}), 400, "project_name")
	lt.Failed(t, e.Call(lt.Alice, "GetProject", lt.Req{Query: url.Values{}}), 400, "projectKey")
	lt.Success(t, e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk("blog"), Body: map[string]any{"description": "d", "visibility": "private"}}))
	if got := list(lt.Bob); len(got) != 0 {
		t.Fatalf("bob still lists %v", got)
	}
	// Delete frees the key.
	lt.Success(t, e.Call(lt.Alice, "DeleteProject", lt.Req{Query: pk("blog")}))
	lt.Failed(t, e.Call(lt.Alice, "GetProject", lt.Req{Query: pk("blog")}), 404, "blog")
	newProject(t, e, lt.Bob, "blog", "private")
}

func TestServiceTemplates(t *testing.T) {
	e := lt.New(t)
	newProject(t, e, lt.Alice, "shop", "public")
	newTemplate(t, e, lt.Alice, "shop", "web")
	newTemplate(t, e, lt.Alice, "shop", "api")
	r := e.Call(lt.Bob, "GetServiceTemplate", lt.Req{Query: pk("shop"), Path: map[string]string{"serviceName": "web"}})
	if r.Status != 200 || r.Body["service_name"] != "web" || r.Body["yaml"] != tpl || len(r.Body["variables"].([]any)) != 2 {
		t.Fatalf("detail %s", r.Raw)
	}
	r = e.Call(lt.Bob, "ListServiceTemplates", lt.Req{Query: pk("shop")})
	if r.Status != 200 || r.Body["total"] != float64(2) || len(r.Body["services"].([]any)) != 2 {
		t.Fatalf("list %s", r.Raw)
	}
	body := func(name, yaml string, vars any) map[string]any {
		return map[string]any{"service_name": name, "yaml": yaml, "variables": vars}
	}
	for name, c := range map[string]struct {
		user    lt.User
		project string
		body    any
		status  int
		says    string
	}{
		"no name":             {lt.Alice, "shop", body("", tpl, tplVars), 400, "service_name"},
		"bad name":            {lt.Alice, "shop", body("Web", tpl, tplVars), 400, "service_name"},
		"no yaml":             {lt.Alice, "shop", body("x", "", tplVars), 400, "yaml"},
		"does not parse":      {lt.Alice, "shop", body("x", "{{ .replicas", tplVars), 400, "does not parse"},
		"missing variable":    {lt.Alice, "shop", body("x", tpl, tplVars[:1]), 400, "image"},
		"not an object":       {lt.Alice, "shop", body("x", "just: text", nil), 400, "kind"},
		"default not in enum": {lt.Alice, "shop", body("x", tpl, []map[string]any{tplVars[0], {"key": "image", "value": "busybox", "type": "enum", "options": []string{"nginx"}}}), 400, "image"},
		"taken name":          {lt.Alice, "shop", body("web", tpl, tplVars), 409, "web"},
		"no project":          {lt.Alice, "nope", body("x", tpl, tplVars), 404, "nope"},
		"not the owner":       {lt.Bob, "shop", body("x", tpl, tplVars), 403, "project"},
	} {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, e.Call(c.user, "CreateServiceTemplate", lt.Req{Query: pk(c.project), Body: c.body}), c.status, c.says)
		})
	}
	if r := e.Call(lt.Alice, "ListServiceTemplates", lt.Req{Query: pk("shop")}); r.Body["total"] != float64(2) {
		t.Fatalf("bad input stored templates: %s", r.Raw)
	}
	web := map[string]string{"serviceName": "web"}
	lt.Failed(t, e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: pk("shop"), Path: web, Body: map[string]any{"yaml": "{{ .nope }}"}}), 400, "yaml")
	lt.Failed(t, e.Call(lt.Bob, "UpdateServiceTemplate", lt.Req{Query: pk("shop"), Path: web, Body: map[string]any{"yaml": tpl}}), 403, "project")
	lt.Failed(t, e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: pk("shop"), Path: web, Body: map[string]any{"version": 9}}), 409, "version")
	lt.Success(t, e.Call(lt.Alice, "UpdateServiceTemplate", lt.Req{Query: pk("shop"), Path: web, Body: map[string]any{"variables": []map[string]any{tplVars[0], {"key": "image", "value": "nginx:1.28", "type": "string"}}}}))
	if r := e.Call(lt.Alice, "GetServiceTemplate", lt.Req{Query: pk("shop"), Path: web}); r.Body["version"] != float64(2) {
		t.Fatalf("after update %s", r.Raw)
	}
	// A project with services cannot be deleted; deleting them frees names and the project.
	lt.Failed(t, e.Call(lt.Alice, "DeleteProject", lt.Req{Query: pk("shop")}), 409, "service templates")
	lt.Success(t, e.Call(lt.Alice, "DeleteServiceTemplate", lt.Req{Query: pk("shop"), Path: web}))
	lt.Failed(t, e.Call(lt.Alice, "GetServiceTemplate", lt.Req{Query: pk("shop"), Path: web}), 404, "web")
	newTemplate(t, e, lt.Alice, "shop", "web")
	for _, s := range []string{"web", "api"} {
		lt.Success(t, e.Call(lt.Alice, "DeleteServiceTemplate", lt.Req{Query: pk("shop"), Path: map[string]string{"serviceName": s}}))
	}
	lt.Success(t, e.Call(lt.Alice, "DeleteProject", lt.Req{Query: pk("shop")}))
	lt.Failed(t, e.Call(lt.Alice, "ListServiceTemplates", lt.Req{Query: pk("shop")}), 404, "shop")
}
