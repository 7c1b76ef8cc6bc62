package environment_test

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/store"
)

func TestCreateRules(t *testing.T) {
	f := setup(t)
	with := func(k string, v any) map[string]any {
		b := f.body("qa", "web")
		b[k] = v
		return b
	}
	cases := map[string]struct {
		user   lt.User
		query  url.Values
		body   any
		status int
		says   string
	}{
		"no env_key":        {lt.Alice, pk(), with("env_key", ""), 400, "env_key"},
		"reserved env_key":  {lt.Alice, pk(), with("env_key", "production"), 400, "reserved"},
		"bad env_key":       {lt.Alice, pk(), with("env_key", "QA"), 400, "env_key"},
		"no cluster":        {lt.Alice, pk(), with("cluster_id", ""), 400, "cluster_id"},
		"unknown cluster":   {lt.Alice, pk(), with("cluster_id", "re-missing"), 400, "cluster_id"},
		"bad namespace":     {lt.Alice, pk(), with("namespace", "Bad_NS"), 400, "namespace"},
		"system namespace":  {lt.Alice, pk(), with("namespace", "kube-system"), 400, "system namespace"},
		"default namespace": {lt.Alice, pk(), with("namespace", "default"), 400, "system namespace"},
		"component's":       {lt.Alice, pk(), with("namespace", "istio-system"), 400, "cluster components"},
		"other project's":   {lt.Alice, pk(), with("namespace", "bobs-env-qa"), 400, "shop-env-"},
		"is_public against": {lt.Alice, pk(), with("is_public", false), 400, "is_public"},
		"squatting":         {lt.Alice, pk(), with("namespace", "shop-system"), 400, "shop-env-"},
		"unknown service":   {lt.Alice, pk(), f.body("qa", "nope"), 400, "nope"},
		"service twice":     {lt.Alice, pk(), f.body("qa", "web", "web"), 400, "twice"},
		"bad config type":   {lt.Alice, pk(), with("env_configs", []map[string]any{{"common_env_cfg_type": "Route", "yaml_data": "a: b"}}), 400, "common_env_cfg_type"},
		"config kind":       {lt.Alice, pk(), with("env_configs", []map[string]any{{"common_env_cfg_type": "Secret", "yaml_data": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}"}}), 400, "Secret"},
		"missing global":    {lt.Alice, pk(), with("global_variables", nil), 400, "replicas"},
		"bad registry":      {lt.Alice, pk(), with("registry_id", "rec-missing"), 400, "registry_id"},
		"env_name on test":  {lt.Alice, pk(), with("env_name", "x"), 400, "env_name"},
		"unknown field":     {lt.Alice, pk(), with("colour", "red"), 400, "colour"},
		"no project":        {lt.Alice, url.Values{"projectKey": {"nope"}}, f.body("qa", "web"), 404, "nope"},
		"not the owner":     {lt.Bob, pk(), f.body("qa", "web"), 403, "project"},
		"anonymous":         {lt.Anonymous, pk(), f.body("qa", "web"), 401, "unauthenticated"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			lt.Failed(t, f.e.Call(c.user, "CreateEnvironment", lt.Req{Query: c.query, Body: c.body}), c.status, c.says)
		})
	}
	if r := f.e.Call(lt.Alice, "ListEnvironments", lt.Req{Query: pk()}); len(r.List) != 0 {
		t.Fatalf("bad input created environments: %s", r.Raw)
	}
	// A registry credential must be a docker registry's.
	r := f.e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"access_key_id": "a", "secret_access_key": "s"}}})
	lt.Failed(t, f.e.Call(lt.Alice, "CreateEnvironment", lt.Req{Query: pk(), Body: with("registry_id", r.Body["runtime_env_credential_id"])}), 400, "docker registry")
}

// A create retried with the same Idempotency-Key returns the first
// operation; production environments are their own list.
func TestIdempotencyAndProduction(t *testing.T) {
	f := setup(t)
	reg := f.e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: map[string]any{"content": map[string]any{"server": "registry.example.com", "username": "u", "password": "p"}}})
	lt.OK(t, reg)
	body := f.body("prod", "web")
	body["env_name"] = "Production"
	body["registry_id"] = reg.Body["runtime_env_credential_id"]
	call := func() lt.Response {
		return f.e.Call(lt.Alice, "CreateProductionEnvironment", lt.Req{Query: pk(), Body: body, Headers: map[string]string{"Idempotency-Key": "k-1"}})
	}
	first, again := call(), call()
	lt.Success(t, first)
	lt.Success(t, again)
	if first.Body["operation_id"] != again.Body["operation_id"] {
		t.Fatalf("retried create started another operation: %s vs %s", first.Raw, again.Raw)
	}
	if done := f.wait(t, first.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("production create ended %v", done)
	}
	// Also once the namespace exists, the same request answers the same.
	if later := call(); later.Status != 200 || later.Body["operation_id"] != first.Body["operation_id"] {
		t.Fatalf("replay after the create ran: %s", later.Raw)
	}
	if r := f.e.Call(lt.Alice, "ListEnvironments", lt.Req{Query: pk()}); len(r.List) != 0 {
		t.Fatalf("production env in the test list: %s", r.Raw)
	}
	r := f.e.Call(lt.Alice, "ListProductionEnvironments", lt.Req{Query: pk()})
	if len(r.List) != 1 || r.List[0].(map[string]any)["env_name"] != "Production" || r.List[0].(map[string]any)["production"] != true {
		t.Fatalf("production list %s", r.Raw)
	}
	prod := map[string]string{"envKey": "prod"}
	lt.Failed(t, f.e.Call(lt.Alice, "GetEnvironment", lt.Req{Query: pk(), Path: prod}), 404, "prod")
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProductionEnvironment", lt.Req{Query: pk(), Path: prod, Body: map[string]any{"env_name": "Prod EU"}}))
	lt.Failed(t, f.e.Call(lt.Bob, "UpdateProductionEnvironment", lt.Req{Query: pk(), Path: prod, Body: map[string]any{"env_name": "x"}}), 403, "project")
	lt.Failed(t, f.e.Call(lt.Alice, "UpdateEnvironment", lt.Req{Query: pk(), Path: prod, Body: map[string]any{"env_name": "x"}}), 400, "env_name")
	d := f.e.Call(lt.Bob, "GetProductionEnvironment", lt.Req{Query: pk(), Path: prod})
	if d.Body["env_name"] != "Prod EU" || d.Body["status"] != "success" {
		t.Fatalf("production detail %s", d.Raw)
	}
	// The registry's pull secret exists and the pods reference it.
	if _, err := f.c.Get(t.Context(), "v1", "Secret", "shop-env-prod", "default-registry-secret"); err != nil {
		t.Fatalf("registry secret: %v", err)
	}
	lt.Failed(t, f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {"shop"}, "isDelete": {"maybe"}}, Path: map[string]string{"envKey": "prod"}}), 400, "isDelete")
	r = f.e.Call(lt.Alice, "DeleteProductionEnvironment", lt.Req{Query: pk(), Path: prod})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("production delete ended %v", done)
	}
	lt.Failed(t, f.e.Call(lt.Bob, "GetOperation", lt.Req{Path: map[string]string{"operation_id": "op-missing"}}), 404, "op-missing")
	lt.Failed(t, f.e.Call(lt.Alice, "GetOperation", lt.Req{Path: map[string]string{"operation_id": "bad"}}), 400, "operation_id")
	// A project with environments cannot be deleted; without them it can.
	_ = f.c.DeleteNamespace(t.Context(), "shop-env-prod", false)
}

// A namespace of a cluster belongs to one active environment: another
// (here of another project) cannot take it, or delete it, until it is freed.
func TestNamespaceBelongsToOneEnvironment(t *testing.T) {
	f := setup(t)
	lt.Success(t, f.e.Call(lt.Bob, "CreateProject", lt.Req{Body: map[string]any{"project_key": "bobs"}}))
	lt.Success(t, f.e.Call(lt.Bob, "CreateServiceTemplate", lt.Req{Query: url.Values{"projectKey": {"bobs"}}, Body: map[string]any{"service_name": "web", "yaml": deployment, "variables": vars}}))
	body := f.body("one", "web")
	body["namespace"] = "shop-env-shared"
	aliceOp := f.create(t, body)
	if done := f.wait(t, aliceOp); done["status"] != "succeeded" {
		t.Fatalf("create ended %v", done)
	}
	bobs := f.body("two", "web")
	bobs["namespace"] = "shop-env-shared"
	// Bob's project may not even name it; an admin may, but it is taken.
	lt.Failed(t, f.e.Call(lt.Bob, "CreateEnvironment", lt.Req{Query: url.Values{"projectKey": {"bobs"}}, Body: bobs}), 400, "bobs-env-")
	lt.Failed(t, f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: url.Values{"projectKey": {"bobs"}}, Body: bobs}), 409, "shop-env-shared")
	r := f.e.Call(lt.Alice, "DeleteEnvironment", lt.Req{Query: url.Values{"projectKey": {"shop"}, "isDelete": {"true"}}, Path: map[string]string{"envKey": "one"}})
	lt.Success(t, r)
	if done := f.wait(t, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("delete ended %v", done)
	}
	r = f.e.Call(lt.Admin, "CreateEnvironment", lt.Req{Query: url.Values{"projectKey": {"bobs"}}, Body: bobs})
	lt.Success(t, r)
	if done := f.waitAs(t, lt.Bob, r.Body["operation_id"].(string)); done["status"] != "succeeded" {
		t.Fatalf("create in the freed namespace ended %v", done)
	}
	// Operations are read as their environment is, through the project as it is now.
	bobsOp := r.Body["operation_id"].(string)
	opPath := func(id string) lt.Req { return lt.Req{Path: map[string]string{"operation_id": id}} }
	lt.Failed(t, f.e.Call(lt.Alice, "GetOperation", opPath(bobsOp)), 404, bobsOp)
	if r := f.e.Call(lt.Admin, "GetOperation", opPath(bobsOp)); r.Status != 200 {
		t.Fatalf("admin reads: %s", r.Raw)
	}
	if r := f.e.Call(lt.Bob, "GetOperation", opPath(aliceOp)); r.Status != 200 {
		t.Fatalf("bob reads an operation of a public project: %s", r.Raw)
	}
	lt.Success(t, f.e.Call(lt.Alice, "UpdateProject", lt.Req{Query: pk(), Body: map[string]any{"visibility": "private"}}))
	lt.Failed(t, f.e.Call(lt.Bob, "GetOperation", opPath(aliceOp)), 404, aliceOp)
	_ = f.c.DeleteNamespace(t.Context(), "shop-env-shared", false)
}

// The environment list is not paged unless asked: a project's 105
// environments are all listed; page_number and page_size still page.
func TestListsEveryEnvironment(t *testing.T) {
	f := setup(t)
	e := f.e
	p, err := e.Deps.Store.ProjectByKey(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 105 {
		key := fmt.Sprintf("env%d", i)
		env := &model.Environment{Record: model.Record{ID: model.NewID(model.KindEnvironment), Owner: "alice"},
			ProjectID: p.ID, ProjectKey: "shop", Key: key, Type: model.EnvTest, ClusterID: f.clusterID, Namespace: key, State: model.EnvSuccess}
		op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: model.OpCreate, Deadline: time.Now()}
		if err := e.Deps.Store.CreateEnvironment(t.Context(), env, store.Start{Op: op}, func(*model.Project) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q    url.Values
		want int
	}{
		{pk(), 105},
		{url.Values{"projectKey": {"shop"}, "page_number": {"2"}}, 5},
		{url.Values{"projectKey": {"shop"}, "page_number": {"2"}, "page_size": {"50"}}, 50},
		{url.Values{"projectKey": {"shop"}, "page_number": {"102"}}, -1}, // past the skip bound at the default size 100
	} {
		r := e.Call(lt.Alice, "ListEnvironments", lt.Req{Query: c.q})
		if c.want < 0 {
			lt.Failed(t, r, 400, "page_number")
		} else if r.Status != 200 || len(r.List) != c.want {
			t.Errorf("%v: %d items (%d), want %d", c.q, len(r.List), r.Status, c.want)
		}
	}
}
