package service_test

import (
	"net/url"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// A template an environment uses is not deleted (409 naming the
// environment) unless forced; once no environment uses it, it is.
func TestTemplateInUse(t *testing.T) {
	f := newEnvFix(t, "tref", "public")
	for _, s := range []string{"web", "api", "spare"} {
		f.template(t, s, deploy)
	}
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "services": []any{svc("web"), svc("api")}})
	f.create(t, "CreateProductionEnvironment", map[string]any{"env_key": "prod", "services": []any{svc("api")}})
	del := func(name string, force ...string) lt.Response {
		q := f.q()
		for _, v := range force {
			q.Set("force", v)
		}
		return f.e.Call(lt.Alice, "DeleteServiceTemplate", lt.Req{Query: q, Path: map[string]string{"serviceName": name}})
	}
	get := func(name string) lt.Response {
		return f.e.Call(lt.Alice, "GetServiceTemplate", lt.Req{Query: f.q(), Path: map[string]string{"serviceName": name}})
	}

	lt.Failed(t, del("web"), 409, "[dev]")
	lt.Failed(t, del("api"), 409, "prod") // production environments count too
	lt.Failed(t, del("web", "maybe"), 400, "force")
	lt.Failed(t, f.e.Call(lt.Bob, "DeleteServiceTemplate", lt.Req{Query: url.Values{"projectKey": {f.project}, "force": {"true"}}, Path: map[string]string{"serviceName": "web"}}), 403, "project")
	if r := get("web"); r.Status != 200 {
		t.Fatalf("a refused delete deleted web: %s", r.Raw)
	}
	lt.Success(t, del("spare", "false"))

	// dev drops api: only prod uses it now.
	f.done(t, f.e.Call(lt.Alice, "DeleteEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "dev", "service_names": []string{"api"}}}), "succeeded")
	r := del("api")
	lt.Failed(t, r, 409, "[prod]")
	if strings.Contains(r.Raw, "dev") {
		t.Errorf("dev no longer uses api: %s", r.Raw)
	}
	f.done(t, f.e.Call(lt.Alice, "DeleteProductionEnvironmentServices", lt.Req{Query: f.q(), Body: map[string]any{"env_key": "prod", "service_names": []string{"api"}}}), "succeeded")
	lt.Success(t, del("api"))
	lt.Failed(t, get("api"), 404, "api")

	// Forced, the template goes while dev still runs web, whose changes
	// are then refused until the template is back.
	lt.Success(t, del("web", "true"))
	lt.Failed(t, get("web"), 404, "web")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"},
		Body: map[string]any{"service_list": []any{svc("web", "replicas", "2")}}}), 400, "web")
	if n, _ := f.deployment(t, f.ns("dev"), "web"); n != 1 {
		t.Errorf("web after its template was forced away: %d replicas", n)
	}
	f.template(t, "web", deploy)
	f.done(t, f.e.Call(lt.Alice, "UpdateEnvironmentServices", lt.Req{Query: f.q(), Path: map[string]string{"envKey": "dev"},
		Body: map[string]any{"service_list": []any{svc("web", "replicas", "2")}}}), "succeeded")
	// The template back is in use again; deleting the environment frees it.
	lt.Failed(t, del("web"), 409, "[dev]")
	f.done(t, f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {f.project}, "isDelete": {"true"}}, Path: map[string]string{"envKey": "dev"}}), "succeeded")
	lt.Success(t, del("web"))
}

// A registry credential environments pull with is not deleted (409 naming
// them) until they stop using it.
func TestRegistryCredentialInUse(t *testing.T) {
	f := newEnvFix(t, "cref", "public")
	f.template(t, "web", deploy)
	newReg := func() string {
		r := f.e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"server": "registry.example.com", "username": "u", "password": "p"}}})
		lt.OK(t, r)
		return r.Body["runtime_env_credential_id"].(string)
	}
	reg, other := newReg(), newReg()
	del := func(id string) lt.Response {
		return f.e.Call(lt.Alice, "DeleteRuntimeEnvCredential", lt.Req{Path: map[string]string{"runtime_env_credential_id": id}})
	}
	f.create(t, "CreateEnvironment", map[string]any{"env_key": "dev", "registry_id": reg, "services": []any{svc("web")}})
	f.create(t, "CreateProductionEnvironment", map[string]any{"env_key": "prod", "registry_id": reg})

	r := del(reg)
	if r.Status != 409 || !strings.Contains(r.Raw, f.project+"/dev") || !strings.Contains(r.Raw, f.project+"/prod") {
		t.Fatalf("deleting a registry in use: %d %s", r.Status, r.Raw)
	}
	if _, err := f.c.Get(t.Context(), "v1", "Secret", f.ns("dev"), "default-registry-secret"); err != nil {
		t.Fatalf("the registry secret: %v", err)
	}
	// dev moves to another registry, prod to none.
	path := func(k string) map[string]string { return map[string]string{"envKey": k} }
	f.done(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: f.q(), Path: path("dev"), Body: map[string]any{"registry_id": other}}), "succeeded")
	r = del(reg)
	if r.Status != 409 || strings.Contains(r.Raw, f.project+"/dev") || !strings.Contains(r.Raw, f.project+"/prod") {
		t.Fatalf("deleting a registry prod still uses: %d %s", r.Status, r.Raw)
	}
	if r := del(other); r.Status != 409 || !strings.Contains(r.Raw, f.project+"/dev") {
		t.Fatalf("deleting the registry dev moved to: %d %s", r.Status, r.Raw)
	}
	f.done(t, f.e.Call(lt.Alice, "UpdateProductionEnvironment", lt.Req{Query: f.q(), Path: path("prod"), Body: map[string]any{"registry_id": ""}}), "succeeded")
	lt.OK(t, del(reg))
	f.done(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: f.q(), Path: path("dev"), Body: map[string]any{"registry_id": ""}}), "succeeded")
	if _, err := f.c.Get(t.Context(), "v1", "Secret", f.ns("dev"), "default-registry-secret"); err == nil {
		t.Fatal("the registry secret outlived its registry")
	}
	lt.OK(t, del(other))
}
