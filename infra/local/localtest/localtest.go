// Package localtest drives functions in tests exactly as Lambda would: API
// Gateway v2 events (from events/) through the aws-lambda-go-api-proxy
// adapter, against a fresh table on DynamoDB Local.
package localtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/routes"
	"github.com/envhub/envhub/shared/workflow"
)

// User is a caller; Role "admin" makes an admin.
type User struct{ Sub, Role string }

// The callers tests use: two users and an admin.
var (
	Alice = User{Sub: "alice"}
	Bob   = User{Sub: "bob"}
	Admin = User{Sub: "root", Role: "admin"}
	// Anonymous has no claims: what a function sees if the authorizer were bypassed.
	Anonymous = User{}
)

// Env is one test's stack: its own table, the deps and every function.
type Env struct {
	t      testing.TB
	Deps   *deps.Deps
	Fns    map[string]local.Function
	Auth   *local.Authorizer // the test server's issuer
	Server *local.Server
	URL    string // the test server, as make run's: HTTP API, WebSocket API (/ws), Lambda Invoke API
}

// New creates a fresh table on the DynamoDB Local that make test started.
func New(t testing.TB) *Env {
	t.Helper()
	// Request logs are for operators; in tests the responses say it all.
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	endpoint := os.Getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		t.Fatal("DYNAMODB_ENDPOINT is not set: run the tests with `make test`, which starts DynamoDB Local")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	table := "test-" + hex.EncodeToString(b)
	ctx := context.Background()
	// One local server per test, as make run serves: its Lambda Invoke API
	// runs the state machines' tasks and the log stream workers, its
	// WebSocket API the logs function. The deps need its URL first.
	creds := local.NewCredentials()
	var srv *local.Server
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	d, err := deps.Load(ctx, local.Config(deps.Config{Table: table, DynamoEndpoint: endpoint, KeyFile: filepath.Join(t.TempDir(), "key")}, hs.URL, creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Workflow.(*workflow.Local).Close() })
	if err := local.EnsureTable(ctx, d.DB, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = d.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	fns, err := local.Functions(d)
	if err != nil {
		t.Fatal(err)
	}
	sockets, err := local.SocketFunctions(d)
	if err != nil {
		t.Fatal(err)
	}
	a, err := local.LoadAuthorizer(filepath.Join(t.TempDir(), "jwt.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if srv, err = local.NewServer(a, fns, sockets, local.TaskHandlers(d), creds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &Env{t: t, Deps: d, Fns: fns, Auth: a, Server: srv, URL: hs.URL}
}

// Token mints a bearer token for u from the test server's issuer.
func (e *Env) Token(t testing.TB, u User) string {
	t.Helper()
	tok, err := e.Auth.Mint(u.Sub, u.Role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Response is a function's answer.
type Response struct {
	Status int
	Body   map[string]any // a JSON object body
	List   []any          // a JSON array body
	Raw    string
}

// Req describes a call: path parameters, query and body (marshalled unless a string).
type Req struct {
	Path    map[string]string
	Query   url.Values
	Body    any
	Headers map[string]string
	Ctx     context.Context // the client's: cancel it to go away mid-request (default: never)
}

// Call invokes action's function with the sample event of that route, as
// API Gateway would after its JWT authorizer passed u.
func (e *Env) Call(u User, action string, req Req) Response {
	e.t.Helper()
	return e.call(e.t, u, action, req)
}

func (e *Env) call(t testing.TB, u User, action string, req Req) Response {
	t.Helper()
	rt := route(t, action)
	ev := SampleEvent(t, rt)
	FillEvent(&ev, rt, u, req)
	ctx := req.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	resp, err := e.Fns[rt.Function].ProxyWithContext(ctx, ev)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	out := Response{Status: resp.StatusCode, Raw: resp.Body}
	if strings.HasPrefix(resp.Headers["Content-Type"], "text/event-stream") && resp.StatusCode == 200 {
		return out // a stream of events: Raw holds it
	}
	var body any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("%s: response is not JSON: %q", action, resp.Body)
	}
	switch b := body.(type) {
	case map[string]any:
		out.Body = b
	case []any:
		out.List, out.Body = b, map[string]any{}
	default:
		t.Fatalf("%s: response is neither a JSON object nor an array: %q", action, resp.Body)
	}
	return out
}

func route(t testing.TB, action string) routes.Route {
	for _, rt := range routes.Table {
		if rt.Action == action {
			return rt
		}
	}
	t.Fatalf("no route for action %s", action)
	return routes.Route{}
}

// EventPath is where a route's sample event lives: events/<function>/<Action>.json.
func EventPath(rt routes.Route) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "events", rt.Function, rt.Action+".json")
}

// SampleEvent reads a route's sample event.
func SampleEvent(t testing.TB, rt routes.Route) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(EventPath(rt))
	if err != nil {
		t.Fatalf("sample event for %s: %v", rt.Action, err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("sample event for %s: %v", rt.Action, err)
	}
	return ev
}

// FillEvent sets the caller, path, query and body of an event for route rt.
func FillEvent(ev *events.APIGatewayV2HTTPRequest, rt routes.Route, u User, req Req) {
	path := rt.Path
	ev.PathParameters = nil
	for k, v := range req.Path {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
		if ev.PathParameters == nil {
			ev.PathParameters = map[string]string{}
		}
		ev.PathParameters[k] = v
	}
	ev.RawPath, ev.RequestContext.HTTP.Path = path, path
	ev.RawQueryString, ev.QueryStringParameters = req.Query.Encode(), nil
	for k, v := range req.Query {
		if ev.QueryStringParameters == nil {
			ev.QueryStringParameters = map[string]string{}
		}
		ev.QueryStringParameters[k] = strings.Join(v, ",")
	}
	switch b := req.Body.(type) {
	case nil:
		ev.Body = ""
	case string:
		ev.Body = b
	default:
		data, _ := json.Marshal(b)
		ev.Body = string(data)
	}
	ev.IsBase64Encoded = false
	for k, v := range req.Headers {
		ev.Headers[strings.ToLower(k)] = v
	}
	ev.RequestContext.Authorizer = nil
	if u.Sub != "" {
		claims := map[string]string{"sub": u.Sub, "iss": local.Issuer, "aud": local.Audience}
		if u.Role != "" {
			claims["role"] = u.Role
		}
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
}

// OK fails t unless r is a success response.
func OK(t testing.TB, r Response) {
	t.Helper()
	if r.Status != 200 || r.Body["ret_code"] != float64(0) {
		t.Fatalf("want success, got %d %s", r.Status, r.Raw)
	}
}
