package environment_test

import (
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
)

// Every request decoder of the area, fed arbitrary input through the Lambda
// adapter against DynamoDB Local: no input may produce a 5xx. No cluster is
// registered here, so no fuzzed create reaches a state machine.

func fuzzEnv(f *testing.F, action string, withKey bool, bodies ...string) {
	e := lt.New(f)
	lt.Success(f, e.Call(lt.Alice, "CreateProject", lt.Req{Body: map[string]any{"project_key": "shop", "visibility": "public"}}))
	for _, b := range bodies {
		f.Add(uint8(0), "projectKey=shop&isDelete=true", "dev", b)
		f.Add(uint8(2), "projectKey=shop&isDelete=maybe", "production", b)
	}
	f.Fuzz(func(t *testing.T, who uint8, query, key, body string) {
		var path map[string]string
		if withKey {
			path = map[string]string{"envKey": key}
		}
		e.FuzzCall(t, who, action, path, query, body)
	})
}

const seedCreate = `{"env_key":"dev","cluster_id":"re-abc","services":[{"service_name":"web","type":"k8s","containers":[{"name":"m","image":"x"}],"variable_kvs":[{"key":"a","use_global_variable":true}]}],"env_configs":[{"common_env_cfg_type":"ConfigMap","yaml_data":"a: b"}],"global_variables":[{"key":"a","value":"b"}],"is_public":true}`

func FuzzListEnvironments(f *testing.F) { fuzzEnv(f, "ListEnvironments", false, "") }
func FuzzCreateEnvironment(f *testing.F) {
	fuzzEnv(f, "CreateEnvironment", false, seedCreate, `{"env_key":"production"}`)
}
func FuzzGetEnvironment(f *testing.F) { fuzzEnv(f, "GetEnvironment", true, "") }
func FuzzUpdateEnvironment(f *testing.F) {
	fuzzEnv(f, "UpdateEnvironment", true, `{"registry_id":"rec-x"}`, `{"env_name":"x"}`)
}
func FuzzDeleteEnvironment(f *testing.F) { fuzzEnv(f, "DeleteEnvironment", true, "") }
func FuzzListProductionEnvironments(f *testing.F) {
	fuzzEnv(f, "ListProductionEnvironments", false, "")
}
func FuzzCreateProductionEnvironment(f *testing.F) {
	fuzzEnv(f, "CreateProductionEnvironment", false, seedCreate)
}
func FuzzGetProductionEnvironment(f *testing.F) { fuzzEnv(f, "GetProductionEnvironment", true, "") }
func FuzzUpdateProductionEnvironment(f *testing.F) {
	fuzzEnv(f, "UpdateProductionEnvironment", true, `{"env_name":"Prod"}`)
}
func FuzzDeleteProductionEnvironment(f *testing.F) {
	fuzzEnv(f, "DeleteProductionEnvironment", true, "")
}

func FuzzGetOperation(f *testing.F) {
	e := lt.New(f)
	f.Add(uint8(0), "op-abc", "")
	f.Add(uint8(1), "op-", "x=1")
	f.Fuzz(func(t *testing.T, who uint8, id, query string) {
		e.FuzzCall(t, who, "GetOperation", map[string]string{"operation_id": id}, query, "")
	})
}

func FuzzGetEnvironmentVariables(f *testing.F) { fuzzEnv(f, "GetEnvironmentVariables", true, "") }
func FuzzUpdateEnvironmentVariables(f *testing.F) {
	fuzzEnv(f, "UpdateEnvironmentVariables", true, `{"global_variables":[{"key":"a","value":"b"}]}`)
}
