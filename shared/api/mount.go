package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/routes"
)

// ActionHeader names the action that answered, on every function response.
const ActionHeader = "X-Envhub-Action"

// HandlerFunc is a handler that returns its error for WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router serves one function's routes. API Gateway has already matched the
// route, so the router dispatches on the event's routeKey and takes path
// parameters from the raw path, segment by segment, with no re-routing,
// cleaning or redirects of its own.
type Router struct {
	routes map[string]mounted // by route key
}

type mounted struct {
	route   routes.Route
	handler HandlerFunc
}

// Mount builds one function's router from the route table. It fails if a
// route has no handler or a handler has no route, so a function and the
// table can never drift apart.
func Mount(function string, actions map[string]HandlerFunc) (*Router, error) {
	rt := &Router{routes: map[string]mounted{}}
	for _, r := range routes.For(function) {
		h, ok := actions[r.Action]
		if !ok {
			return nil, fmt.Errorf("function %s: no handler for %s (%s)", function, r.Action, r.Pattern())
		}
		rt.routes[r.Pattern()] = mounted{r, h}
	}
	if len(rt.routes) != len(actions) {
		return nil, fmt.Errorf("function %s: %d handlers for %d routes in the table", function, len(actions), len(rt.routes))
	}
	return rt, nil
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc, _ := core.GetAPIGatewayV2ContextFromContext(r.Context())
	rt.serve(w, r, rc.RouteKey, rc.RequestID)
}

// Routing is the router where no API Gateway matched the route (a Lambda
// Function URL): it finds the route itself, as API Gateway would (method,
// then segment by segment, a literal beating a {parameter}).
func (rt *Router) Routing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		key, best := "", []string(nil)
		for k, m := range rt.routes {
			want := strings.Split(strings.TrimPrefix(m.route.Path, "/"), "/")
			if m.route.Method == r.Method && matches(want, got) && (best == nil || literalFirst(want, best)) {
				key, best = k, want
			}
		}
		rt.serve(w, r, key, "")
	})
}

func matches(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i, seg := range want {
		if param := strings.HasPrefix(seg, "{"); param && got[i] == "" || !param && seg != got[i] {
			return false
		}
	}
	return true
}

func literalFirst(a, b []string) bool {
	for i := range a {
		if la, lb := !strings.HasPrefix(a[i], "{"), !strings.HasPrefix(b[i], "{"); la != lb {
			return la
		}
	}
	return false
}

func (rt *Router) serve(w http.ResponseWriter, r *http.Request, key, requestID string) {
	start := time.Now()
	m, ok := rt.routes[key]
	if !ok || !setPathValues(r, m.route.Path) {
		WriteError(w, r, fmt.Errorf("%w: route %q is not served here", errs.ErrNotFound, key))
		return
	}
	r = r.WithContext(WithRoute(r.Context(), m.route))
	w.Header().Set(ActionHeader, m.route.Action)
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if err := m.handler(sw, r); err != nil {
		WriteError(sw, r, err)
	}
	slog.InfoContext(r.Context(), "request", "action", m.route.Action, "status", sw.status,
		"ms", time.Since(start).Milliseconds(), "request_id", requestID)
}

// setPathValues fills {name} segments of pattern from the request's raw path.
func setPathValues(r *http.Request, pattern string) bool {
	want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	got := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/") // an empty id stays a segment
	if len(want) != len(got) {
		return false
	}
	for i, seg := range want {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			v, err := url.PathUnescape(got[i])
			if err != nil {
				v = got[i] // left as sent; the handler's id check refuses it
			}
			r.SetPathValue(strings.TrimSuffix(name, "}"), v)
		}
	}
	return true
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the writer beneath (to flush a
// streamed answer, where it can).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
