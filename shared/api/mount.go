package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/envhub/envhub/shared/routes"
)

// HandlerFunc is a handler that returns its error for WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Mount registers one function's handlers on a new mux, one per route of the
// table. It fails if a route has no handler or a handler has no route, so a
// function and the table can never drift apart.
func Mount(function string, actions map[string]HandlerFunc) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range routes.For(function) {
		h, ok := actions[rt.Action]
		if !ok {
			return nil, fmt.Errorf("function %s: no handler for %s (%s)", function, rt.Action, rt.Pattern())
		}
		seen[rt.Action] = true
		action := rt.Action
		mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r = r.WithContext(WithAction(r.Context(), action))
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			if err := h(sw, r); err != nil {
				WriteError(sw, r, err)
			}
			slog.InfoContext(r.Context(), "request", "action", action, "status", sw.status,
				"ms", time.Since(start).Milliseconds(), "request_id", requestID(r))
		})
	}
	for a := range actions {
		if !seen[a] {
			return nil, fmt.Errorf("function %s: handler %s has no route in the table", function, a)
		}
	}
	return mux, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func requestID(r *http.Request) string {
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
		return rc.RequestID
	}
	return ""
}
