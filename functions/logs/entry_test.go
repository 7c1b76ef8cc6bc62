package logs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/envhub/envhub/functions/logs"
	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/samtemplate"
)

// The one logs Lambda tells its three event sources apart by shape: the
// sample events of events/logs (as sam local invoke -e would send them)
// reach the WebSocket routes, the HTTP API's route, and the worker.
func TestFunctionDispatch(t *testing.T) {
	e := lt.New(t)
	fn, err := logs.NewFunction(e.Deps)
	if err != nil {
		t.Fatal(err)
	}
	invoke := func(name string) any {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(filepath.Dir(samtemplate.Path()), "events", "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := fn.Invoke(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	for _, c := range []struct {
		event  string
		status int    // the WebSocket route's status code
		says   string // in the message going back to the client
	}{
		{"ws-connect.json", 401, "Unauthorized"},     // its token is "<jwt>"
		{"ws-default.json", 200, `"status":400`},     // action "follow"
		{"ws-subscribe.json", 200, `"status":404`},   // no such connection
		{"ws-unsubscribe.json", 200, `"status":404`}, // nor subscription
		{"ws-disconnect.json", 200, ""},
	} {
		resp, ok := invoke(c.event).(events.APIGatewayProxyResponse)
		if !ok || resp.StatusCode != c.status || !strings.Contains(resp.Body, c.says) {
			t.Errorf("%s: %+v", c.event, resp)
		}
	}
	if resp, ok := invoke("GetContainerLogs.json").(events.APIGatewayV2HTTPResponse); !ok || resp.StatusCode != 404 {
		t.Errorf("HTTP API event: %+v", resp)
	}
	out, err := fn.Invoke(context.Background(), json.RawMessage(`{"logs_worker":{"connection":"c1","subscription":"s1","gen":1}}`))
	if out != nil || err != nil {
		t.Errorf("worker of nothing: %v %v", out, err)
	}
	if _, err := fn.Invoke(context.Background(), json.RawMessage(`[1]`)); err == nil {
		t.Error("an event of no source was taken")
	}
}
