package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/routes"
)

// The route table, template.yaml's HttpApi events, the Makefile's build
// targets, the local server and the functions' handlers must agree exactly.
func TestRouteTableMatchesTemplate(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var fromTemplate, fromTable []string
	for _, r := range got {
		fromTemplate = append(fromTemplate, r.Function+" "+r.Event+" "+r.Method+" "+r.Path)
	}
	for _, r := range routes.Table {
		id, ok := routes.LogicalIDs[r.Function]
		if !ok {
			t.Fatalf("function %s has no logical id", r.Function)
		}
		fromTable = append(fromTable, id+" "+r.Action+" "+r.Method+" "+r.Path)
	}
	slices.Sort(fromTemplate)
	slices.Sort(fromTable)
	if !slices.Equal(fromTemplate, fromTable) {
		t.Fatalf("template.yaml routes differ from the route table:\ntemplate: %q\ntable:    %q", fromTemplate, fromTable)
	}
	sockets, err := tpl.SocketRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var socketTemplate, socketTable []string
	for _, r := range sockets {
		socketTemplate = append(socketTemplate, fmt.Sprintf("%s %s two-way=%v", r.Target, r.Key, r.TwoWay))
	}
	for _, r := range routes.Sockets {
		// Every WebSocket route goes to its function's one integration.
		target := "integrations/${" + strings.TrimSuffix(routes.LogicalIDs[r.Function], "Function") + "SocketIntegration}"
		socketTable = append(socketTable, fmt.Sprintf("%s %s two-way=%v", target, r.Key, r.TwoWay))
	}
	slices.Sort(socketTemplate)
	slices.Sort(socketTable)
	if !slices.Equal(socketTemplate, socketTable) {
		t.Fatalf("template.yaml WebSocket routes differ from the route table:\ntemplate: %q\ntable:    %q", socketTemplate, socketTable)
	}
	makefile, err := os.ReadFile(filepath.Join(filepath.Dir(samtemplate.Path()), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for fn, id := range merge(routes.LogicalIDs, routes.TaskFunctions) {
		if tpl.Resources[id].Type != "AWS::Serverless::Function" {
			t.Errorf("template.yaml has no function %s", id)
		}
		target := regexp.MustCompile(`(?m)^build-` + id + `:\n\t.*\./functions/` + fn + `/lambda\b`)
		if !target.Match(makefile) {
			t.Errorf("Makefile has no build-%s target building ./functions/%s/lambda", id, fn)
		}
	}
	for fn, id := range routes.URLFunctions {
		target := regexp.MustCompile(`(?m)^build-` + id + `:\n\t.*\./functions/` + fn + `/url\b`)
		if !target.Match(makefile) {
			t.Errorf("Makefile has no build-%s target building ./functions/%s/url", id, fn)
		}
		var props struct {
			FunctionURLConfig struct {
				InvokeMode string `yaml:"InvokeMode"`
			} `yaml:"FunctionUrlConfig"`
		}
		res := tpl.Resources[id]
		if err := res.Properties.Decode(&props); err != nil || props.FunctionURLConfig.InvokeMode != "RESPONSE_STREAM" {
			t.Errorf("%s has no Function URL in RESPONSE_STREAM mode (%v)", id, err)
		}
	}
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" && !slices.Contains(slices.Collect(maps.Values(routes.LogicalIDs)), id) &&
			!slices.Contains(slices.Collect(maps.Values(routes.TaskFunctions)), id) &&
			!slices.Contains(slices.Collect(maps.Values(routes.URLFunctions)), id) {
			t.Errorf("template.yaml function %s is not in the route table", id)
		}
	}
}

// Every route of the table reaches its function's handler through the local
// server (the server's JWT authorizer in front), and nothing else is routed.
func TestLocalServerServesEveryRoute(t *testing.T) {
	e := localtest.New(t)
	srv, a := e.Server, e.Auth
	var patterns []string
	for _, r := range routes.Table {
		patterns = append(patterns, r.Pattern())
	}
	if !slices.Equal(srv.Patterns(), patterns) {
		t.Fatalf("server routes %v, table %v", srv.Patterns(), patterns)
	}
	tok, err := a.Mint("alice", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[A-Za-z_]+\}`)
	for _, rt := range routes.Table {
		path := param.ReplaceAllStringFunc(rt.Path, func(m string) string {
			return map[string]string{"{runtime_env_id}": "re-x", "{runtime_env_credential_id}": "rec-x", "{runtime_env_label_id}": "rel-x", "{serviceName}": "web", "{envKey}": "dev", "{operation_id}": "op-x", "{n}": "1", "{cfgName}": "game-demo", "{pod}": "web-1", "{container}": "web"}[m]
		})
		req := httptest.NewRequest(rt.Method, path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Header().Get(api.ActionHeader) != rt.Action || (!rt.OpenAPI() && body["action"] != rt.Action+"Response") {
			t.Errorf("%s: answered %d %s, not by %s", rt.Pattern(), w.Code, w.Body, rt.Action)
		}
		// Without a token API Gateway's authorizer answers 401 before any function.
		req = httptest.NewRequest(rt.Method, path, nil)
		w = httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d", rt.Pattern(), w.Code)
		}
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/v1/nothing", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown route: %d", w.Code)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// Every function gets from template.yaml the environment its main needs:
// deps.Load succeeds with it, those that seal or open credentials and plans
// have the key, and those that start or inspect executions know every state
// machine.
func TestFunctionsGetTheirEnvironment(t *testing.T) {
	tpl, err := samtemplate.Load(samtemplate.Path())
	if err != nil {
		t.Fatal(err)
	}
	needs := map[string][]string{
		"credential":  {"KMS_KEY_ID"},
		"environment": {"KMS_KEY_ID", "ENV_CREATE_STATE_MACHINE_ARN", "ENV_UPDATE_STATE_MACHINE_ARN", "ENV_DELETE_STATE_MACHINE_ARN"},
		"envflow":     {"KMS_KEY_ID"},
		"maintenance": {"ENV_CREATE_STATE_MACHINE_ARN", "ENV_UPDATE_STATE_MACHINE_ARN", "ENV_DELETE_STATE_MACHINE_ARN"},
		"logs":        {"KMS_KEY_ID", "JWT_ISSUER", "JWT_AUDIENCE", "WEBSOCKET_ENDPOINT"},
		"logs-url":    {"KMS_KEY_ID", "JWT_ISSUER", "JWT_AUDIENCE"},
	}
	fns := merge(routes.LogicalIDs, routes.TaskFunctions)
	fns["logs-url"] = routes.URLFunctions["logs"]
	for fn, id := range fns {
		vars, err := tpl.Environment(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range append([]string{"TABLE_NAME"}, needs[fn]...) {
			if !slices.Contains(vars, want) {
				t.Errorf("%s gets no %s", id, want)
			}
		}
		for _, v := range vars {
			t.Setenv(v, "arn:aws:x:us-east-1:000000000000:placeholder")
		}
		t.Setenv("AWS_REGION", "us-east-1")
		if _, err := deps.Load(context.Background(), deps.ConfigFromEnv()); err != nil {
			t.Errorf("%s would not start: %v", id, err)
		}
		for _, v := range vars {
			os.Unsetenv(v)
		}
	}
}
