package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/deps"
)

// Function is the logs Lambda: one function behind three event sources,
// told apart by their shape — the HTTP API's requests (payload 2.0), the
// WebSocket API's events, and its own asynchronous invocations (workers).
type Function struct {
	h    *Handler
	mux  *api.Router
	http *httpadapter.HandlerAdapterV2
}

// NewFunction builds the Lambda from Deps.
func NewFunction(d *deps.Deps) (*Function, error) {
	h := New(d)
	mux, err := api.Mount("logs", h.Actions())
	if err != nil {
		return nil, err
	}
	return &Function{h: h, mux: mux, http: httpadapter.NewV2(mux)}, nil
}

// probe is just enough of an event to tell its source.
type probe struct {
	Worker         *Job `json:"logs_worker"`
	RequestContext struct {
		EventType    string `json:"eventType"`
		ConnectionID string `json:"connectionId"`
	} `json:"requestContext"`
}

// Invoke handles one event of any of the function's sources.
func (f *Function) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("not an event of the logs function: %w", err)
	}
	switch {
	case p.Worker != nil:
		return nil, f.h.work(ctx, *p.Worker)
	case p.RequestContext.ConnectionID != "":
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return f.h.Socket(ctx, ev)
	default:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return f.http.ProxyWithContext(ctx, ev)
	}
}

// Socket is the WebSocket side (the local server calls it as API Gateway does).
func (f *Function) Socket(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return f.h.Socket(ctx, ev)
}

// Invoke builds the Lambda's handler of every event (for deps.StartRaw).
func Invoke(d *deps.Deps) (func(context.Context, json.RawMessage) (any, error), error) {
	f, err := NewFunction(d)
	if err != nil {
		return nil, err
	}
	return f.Invoke, nil
}

// URLHandler builds the Function URL's handler (for deps.StartStream).
func URLHandler(d *deps.Deps) (http.Handler, error) {
	f, err := NewFunction(d)
	if err != nil {
		return nil, err
	}
	return f.URL(), nil
}
