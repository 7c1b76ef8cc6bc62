package local_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/routes"
)

var update = flag.Bool("update", false, "rewrite events/ from the route table")

// Sample requests, one per action, for the sample events in events/.
var samples = map[string]struct {
	path, query, body string
}{
	"CreateRuntimeEnv":                     {"/v1/runtime_envs", "", `{"runtime":"kubernetes","name":"prod-cluster","description":"main cluster","endpoint":"https://k8s.example.com:6443","zone":"default","visibility":"public","pod_security":"restricted"}`},
	"DescribeRuntimeEnvs":                  {"/v1/runtime_envs", "runtime=kubernetes&status=active&page_size=10&verbose=1", ""},
	"ModifyRuntimeEnv":                     {"/v1/runtime_envs/re-0123456789abcdef", "", `{"name":"prod-cluster-2","visibility":"private"}`},
	"DeleteRuntimeEnv":                     {"/v1/runtime_envs/re-0123456789abcdef", "", ""},
	"CreateRuntimeEnvCredential":           {"/v1/runtime_env_credentials", "", `{"name":"qc-key","content":{"access_key_id":"QYACCESSKEYIDEXAMPLE","secret_access_key":"secret"}}`},
	"DescribeRuntimeEnvCredentials":        {"/v1/runtime_env_credentials", "verbose=1", ""},
	"ModifyRuntimeEnvCredential":           {"/v1/runtime_env_credentials/rec-0123456789abcdef", "", `{"description":"rotated"}`},
	"DeleteRuntimeEnvCredential":           {"/v1/runtime_env_credentials/rec-0123456789abcdef", "", ""},
	"AttachCredentialToRuntimeEnv":         {"/v1/runtime_envs/re-0123456789abcdef/credentials/rec-0123456789abcdef", "", ""},
	"DetachCredentialFromRuntimeEnv":       {"/v1/runtime_envs/re-0123456789abcdef/credentials/rec-0123456789abcdef", "", ""},
	"CreateRuntimeEnvLabel":                {"/v1/runtime_env_labels", "", `{"runtime_env_id":"re-0123456789abcdef","label_key":"tier","label_value":"gold"}`},
	"DescribeRuntimeEnvLabels":             {"/v1/runtime_env_labels", "runtime_env_id=re-0123456789abcdef&runtime_env_labels=tier%3Dgold&runtime_env_labels=rel-0123456789abcdef", ""},
	"ModifyRuntimeEnvLabel":                {"/v1/runtime_env_labels/rel-0123456789abcdef", "", `{"label_value":"silver"}`},
	"DeleteRuntimeEnvLabel":                {"/v1/runtime_env_labels/rel-0123456789abcdef", "", ""},
	"CreateProject":                        {"/openapi/projects/project", "", `{"project_key":"shop","project_name":"Shop","is_public":true,"project_type":"yaml","global_variables":[{"key":"replicas","value":"1","type":"string"}]}`},
	"ListProjects":                         {"/openapi/projects/project", "page_size=10", ""},
	"GetProject":                           {"/openapi/projects/project/detail", "projectKey=shop", ""},
	"UpdateProject":                        {"/openapi/projects/project", "projectKey=shop", `{"description":"the shop","visibility":"public"}`},
	"DeleteProject":                        {"/openapi/projects/project", "projectKey=shop", ""},
	"CreateServiceTemplate":                {"/openapi/service/template", "projectKey=shop", `{"service_name":"web","yaml":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $Service$}\ndata: {replicas: \"{{ .replicas }}\"}\n","variables":[{"key":"replicas","value":"1","type":"string"}]}`},
	"ListServiceTemplates":                 {"/openapi/service/template", "projectKey=shop", ""},
	"GetServiceTemplate":                   {"/openapi/service/template/web", "projectKey=shop", ""},
	"UpdateServiceTemplate":                {"/openapi/service/template/web", "projectKey=shop", `{"variables":[{"key":"replicas","value":"2","type":"string"}]}`},
	"DeleteServiceTemplate":                {"/openapi/service/template/web", "projectKey=shop", ""},
	"ListEnvironments":                     {"/openapi/environments", "projectKey=shop", ""},
	"CreateEnvironment":                    {"/openapi/environments", "projectKey=shop", `{"env_key":"dev","cluster_id":"re-0123456789abcdef","global_variables":[{"key":"replicas","value":"2"}],"services":[{"service_name":"web","type":"k8s","containers":[{"name":"main","image":"nginx:1.27","image_name":"nginx"}],"variable_kvs":[{"key":"replicas","value":"","use_global_variable":true}]}],"env_configs":[{"common_env_cfg_type":"ConfigMap","yaml_data":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"}]}`},
	"GetEnvironment":                       {"/openapi/environments/dev", "projectKey=shop", ""},
	"UpdateEnvironment":                    {"/openapi/environments/dev", "projectKey=shop", `{"registry_id":""}`},
	"DeleteEnvironment":                    {"/openapi/environments/dev", "projectKey=shop&isDelete=true", ""},
	"ListProductionEnvironments":           {"/openapi/environments/production", "projectKey=shop", ""},
	"CreateProductionEnvironment":          {"/openapi/environments/production", "projectKey=shop", `{"env_key":"prod","env_name":"Production","cluster_id":"re-0123456789abcdef"}`},
	"GetProductionEnvironment":             {"/openapi/environments/production/prod", "projectKey=shop", ""},
	"UpdateProductionEnvironment":          {"/openapi/environments/production/prod", "projectKey=shop", `{"env_name":"Production (EU)"}`},
	"DeleteProductionEnvironment":          {"/openapi/environments/production/prod", "projectKey=shop", ""},
	"GetOperation":                         {"/openapi/operations/op-0123456789abcdef", "", ""},
	"GetEnvironmentVariables":              {"/openapi/environments/dev/variable", "projectKey=shop", ""},
	"UpdateEnvironmentVariables":           {"/openapi/environments/dev/variable", "projectKey=shop", `{"global_variables":[{"key":"replicas","value":"3"}]}`},
	"GetProductionEnvironmentVariables":    {"/openapi/environments/production/prod/variable", "projectKey=shop", ""},
	"UpdateProductionEnvironmentVariables": {"/openapi/environments/production/prod/variable", "projectKey=shop", `{"global_variables":[{"key":"replicas","value":"3"}]}`},
	"ListRevisions":                        {"/openapi/environments/dev/revisions", "projectKey=shop&page_size=10", ""},
	"GetRevision":                          {"/openapi/environments/dev/revisions/2", "projectKey=shop", ""},
	"RollbackRevision":                     {"/openapi/environments/dev/revisions/1/rollback", "projectKey=shop", ""},
	"ListProductionRevisions":              {"/openapi/environments/production/prod/revisions", "projectKey=shop", ""},
	"GetProductionRevision":                {"/openapi/environments/production/prod/revisions/2", "projectKey=shop", ""},
	"RollbackProductionRevision":           {"/openapi/environments/production/prod/revisions/1/rollback", "projectKey=shop", ""},
	"GetEnvironmentService":                {"/openapi/environments/dev/services/web", "projectKey=shop&workLoadtype=Deployment", ""},
	"GetProductionEnvironmentService":      {"/openapi/environments/production/prod/services/web", "projectKey=shop", ""},
	"AddEnvironmentServices":               {"/openapi/environments/service/yaml", "projectKey=shop", `{"env_key":"dev","service_list":[{"service_name":"api","variable_kvs":[{"key":"replicas","use_global_variable":true},{"key":"port","value":"8080"}]}]}`},
	"AddProductionEnvironmentServices":     {"/openapi/environments/production/service/yaml", "projectKey=shop", `{"env_key":"prod","service_list":[{"service_name":"api"}]}`},
	"UpdateEnvironmentServices":            {"/openapi/environments/dev/services", "projectKey=shop", `{"service_list":[{"service_name":"web","variable_kvs":[{"key":"replicas","value":"3"}]}]}`},
	"UpdateProductionEnvironmentServices":  {"/openapi/environments/production/prod/services", "projectKey=shop", `{"service_list":[{"service_name":"web","variable_kvs":[{"key":"replicas","value":"3"}]}]}`},
	"DeleteEnvironmentServices":            {"/openapi/environments/service/yaml", "projectKey=shop", `{"env_key":"dev","service_names":["api"]}`},
	"DeleteProductionEnvironmentServices":  {"/openapi/environments/production/service/yaml", "projectKey=shop", `{"env_key":"prod","service_names":["api"]}`},
	"CreateEnvConfig":                      {"/openapi/environments/dev/envcfgs", "projectKey=shop", `{"name":"game-demo","common_env_cfg_type":"ConfigMap","yaml_data":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: game-demo}\ndata: {lives: \"3\"}\n"}`},
	"CreateProductionEnvConfig":            {"/openapi/environments/production/prod/envcfgs", "projectKey=shop", `{"name":"game-demo","common_env_cfg_type":"ConfigMap","yaml_data":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: game-demo}\ndata: {lives: \"3\"}\n"}`},
	"ListEnvConfigs":                       {"/openapi/environments/dev/envcfgs", "projectKey=shop&type=ConfigMap", ""},
	"ListProductionEnvConfigs":             {"/openapi/environments/production/prod/envcfgs", "projectKey=shop&type=Secret", ""},
	"GetEnvConfig":                         {"/openapi/environments/dev/envcfg/game-demo", "projectKey=shop&type=ConfigMap", ""},
	"GetProductionEnvConfig":               {"/openapi/environments/production/prod/envcfg/game-demo", "projectKey=shop&type=ConfigMap", ""},
	"UpdateEnvConfig":                      {"/openapi/environments/envcfgs", "projectKey=shop", `{"name":"game-demo","env_key":"dev","common_env_cfg_type":"ConfigMap","yaml_data":"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: game-demo}\ndata: {lives: \"3\"}\n"}`},
	"DeleteEnvConfig":                      {"/openapi/environments/dev/envcfg/game-demo", "projectKey=shop&type=ConfigMap", ""},
	"DeleteProductionEnvConfig":            {"/openapi/environments/production/prod/envcfg/game-demo", "projectKey=shop&type=ConfigMap", ""},
	"ScaleWorkload":                        {"/openapi/environments/scale", "", `{"project_key":"shop","env_key":"dev","workload_name":"web","workload_type":"Deployment","target_replicas":3}`},
	"RestartService":                       {"/openapi/environments/dev/service/web/restart", "projectKey=shop", ""},
	"RestartProductionService":             {"/openapi/environments/production/prod/service/web/restart", "projectKey=shop", ""},
	"UpdateDeploymentImage":                {"/openapi/environments/image/deployment/dev", "", `{"product_name":"shop","env_name":"dev","service_name":"web","name":"web","container_name":"web","image":"nginx:1.27"}`},
	"UpdateStatefulSetImage":               {"/openapi/environments/image/statefulset/dev", "", `{"product_name":"shop","env_name":"dev","service_name":"db","name":"db","container_name":"postgres","image":"postgres:17"}`},
	"UpdateCronJobImage":                   {"/openapi/environments/image/cronjob/dev", "", `{"product_name":"shop","env_name":"dev","service_name":"web","name":"cleanup","container_name":"cleanup","image":"busybox:1.37"}`},
	"ListKubeEvents":                       {"/openapi/environments/kube/events", "projectKey=shop&envName=dev&name=web&type=Deployment", ""},
	"GetContainerLogs":                     {"/openapi/logs/sse/pods/web-5d8f7c9b4-x2x7q/containers/web", "projectKey=shop&envName=dev&tails=100", ""},
}

// TestSampleEvents keeps events/ in step with the route table: one sample
// event per route, as the local server (acting as API Gateway) builds it.
// Run with -update to rewrite them.
func TestSampleEvents(t *testing.T) {
	for _, rt := range routes.Table {
		t.Run(rt.Action, func(t *testing.T) {
			s, ok := samples[rt.Action]
			if !ok {
				t.Fatalf("no sample request for %s", rt.Action)
			}
			target := s.path
			if s.query != "" {
				target += "?" + s.query
			}
			r := httptest.NewRequest(rt.Method, "https://api.example.com"+target, strings.NewReader(s.body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer <jwt>")
			// Route the request through a mux so path values are set as in the server.
			var built []byte
			mux := newMux(rt, func(ev []byte) { built = ev }, s.body)
			mux.ServeHTTP(httptest.NewRecorder(), r)
			if built == nil {
				t.Fatalf("sample path %s does not match %s", s.path, rt.Pattern())
			}
			path := localtest.EventPath(rt)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, built, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./infra/local -run TestSampleEvents -update)", err)
			}
			ev := localtest.SampleEvent(t, rt)
			if ev.RouteKey != rt.Pattern() || ev.RequestContext.HTTP.Method != rt.Method {
				t.Fatalf("%s: routeKey %q, want %q", path, ev.RouteKey, rt.Pattern())
			}
			if !bytes.Equal(normalize(t, got), normalize(t, built)) {
				t.Fatalf("%s is out of date: run go test ./infra/local -run TestSampleEvents -update", path)
			}
		})
	}
}

// normalize drops the fields that change on every build (request id, time).
func normalize(t *testing.T, data []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	rc := m["requestContext"].(map[string]any)
	delete(rc, "requestId")
	delete(rc, "time")
	delete(rc, "timeEpoch")
	out, _ := json.Marshal(m)
	return out
}

// Sample messages of the WebSocket API, one per route, as the local server
// (acting as API Gateway) builds its events: events/logs/ws-<route>.json.
var socketSamples = map[string]string{
	"$connect":    "",
	"$disconnect": "",
	"subscribe":   `{"action":"subscribe","projectKey":"demo","envName":"dev","service":"web","container":"web","tails":100}`,
	"unsubscribe": `{"action":"unsubscribe","id":"a1b2c3"}`,
	"$default":    `{"action":"follow"}`,
}

func TestSampleSocketEvents(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, rt := range routes.Sockets {
		t.Run(rt.Key, func(t *testing.T) {
			body, ok := socketSamples[rt.Key]
			if !ok {
				t.Fatalf("no sample message for %s", rt.Key)
			}
			var r *http.Request
			kind := map[string]string{"$connect": "CONNECT", "$disconnect": "DISCONNECT"}[rt.Key]
			if kind == "" {
				kind = "MESSAGE"
			}
			if rt.Key == "$connect" {
				r = httptest.NewRequest("GET", "https://abc123.execute-api.us-east-1.amazonaws.com/ws?token=<jwt>", nil)
				r.Header.Set("Sec-WebSocket-Version", "13")
				r.Header.Set("Upgrade", "websocket")
			}
			ev := local.SocketEvent(rt.Key, kind, "L0SM9cOFvHcCIhw=", at, "203.0.113.7", r, body)
			ev.RequestContext.RequestID, ev.RequestContext.ExtendedRequestID = "sample", "sample"
			ev.RequestContext.DomainName = "abc123.execute-api.us-east-1.amazonaws.com"
			ev.RequestContext.RequestTime, ev.RequestContext.RequestTimeEpoch = at.Format("02/Jan/2006:15:04:05 -0700"), at.UnixMilli()
			built, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			name := strings.NewReplacer("$", "").Replace(rt.Key)
			path := filepath.Join(filepath.Dir(samtemplate.Path()), "events", rt.Function, "ws-"+name+".json")
			if *update {
				if err := os.WriteFile(path, append(built, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./infra/local -run TestSampleSocketEvents -update)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), built) {
				t.Fatalf("%s is out of date: run go test ./infra/local -run TestSampleSocketEvents -update", path)
			}
		})
	}
}
