package local_test

import (
	"context"
	"testing"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/infra/local/localtest"
)

// make run registers the local control plane as runtime env "local", with a
// credential that passes live validation, once.
func TestRegisterCluster(t *testing.T) {
	e := localtest.New(t)
	lc := localtest.LocalCluster(t)
	tok := e.Token(t, localtest.User{Sub: "dev", Role: "admin"})
	id, err := local.RegisterCluster(context.Background(), e.URL, tok, lc.Dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := local.RegisterCluster(context.Background(), e.URL, tok, lc.Dir)
	if err != nil || again != id {
		t.Fatalf("second registration: %s %v (first %s)", again, err, id)
	}
	r := e.Call(localtest.Alice, "DescribeRuntimeEnvs", localtest.Req{Query: map[string][]string{"runtime_env_ids": {id}, "verbose": {"1"}}})
	localtest.OK(t, r)
	envs := r.Body["runtime_env_set"].([]any)
	if len(envs) != 1 {
		t.Fatalf("alice cannot see the public local env: %s", r.Raw)
	}
	env := envs[0].(map[string]any)
	if env["name"] != "local" || env["endpoint"] != lc.Server || len(env["runtime_env_credential_ids"].([]any)) != 1 {
		t.Fatalf("registered env %v", env)
	}
}
