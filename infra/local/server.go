// Package local is the local stand-in for API Gateway and Lambda: one
// process serving every function's handlers through the same
// aws-lambda-go-api-proxy adapter the Lambda mains use, with events shaped
// like HTTP API payload 2.0 and the JWT authorizer's claims in them.
package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/envhub/envhub/shared/routes"
	"github.com/envhub/envhub/shared/workflow"
)

// Function is one Lambda as the local server runs it.
type Function interface {
	ProxyWithContext(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

var _ Function = (*httpadapter.HandlerAdapterV2)(nil)

// streamed is a function whose handler the local server also calls
// directly, with the event's request, so that its response streams.
type streamed struct {
	*httpadapter.HandlerAdapterV2
	h http.Handler
}

var _ Function = streamed{}

// Server routes HTTP requests to functions by the route table.
type Server struct {
	Auth      *Authorizer
	Functions map[string]Function // by area name
	invoke    *Invoker
	sockets   *Sockets
	jwks      []byte
	routes    []localRoute
}

type localRoute struct {
	route    routes.Route
	segments []string
	handler  http.Handler
}

// NewServer builds the routing; every route of the table (and of the
// WebSocket API's, to sockets) must have its function. tasks are served on
// the Lambda Invoke API (for the state machines, schedules and log stream
// workers), to callers signing with creds, as is the WebSocket API's
// management API.
func NewServer(a *Authorizer, fns map[string]Function, sockets map[string]SocketFunction, tasks map[string]workflow.Task, creds Credentials) (*Server, error) {
	ws, err := NewSockets(sockets, creds)
	if err != nil {
		return nil, err
	}
	jwks, err := a.JWKS()
	if err != nil {
		return nil, err
	}
	s := &Server{Auth: a, Functions: fns, invoke: Invoke(tasks, creds), sockets: ws, jwks: jwks}
	for _, rt := range routes.Table {
		fn, ok := fns[rt.Function]
		if !ok {
			return nil, fmt.Errorf("route %s: no function %q", rt.Pattern(), rt.Function)
		}
		s.routes = append(s.routes, localRoute{rt, strings.Split(strings.TrimPrefix(rt.Path, "/"), "/"), s.route(rt, fn)})
	}
	return s, nil
}

// match finds a request's route as API Gateway does: the most specific one,
// where, segment by segment from the left, a literal beats a {parameter}.
// It sets the path values it captured.
func (s *Server) match(r *http.Request) (*localRoute, bool) {
	got := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	var best *localRoute
	for i := range s.routes {
		lr := &s.routes[i]
		if lr.route.Method != r.Method || len(lr.segments) != len(got) {
			continue
		}
		ok := true
		for j, seg := range lr.segments {
			if !strings.HasPrefix(seg, "{") && seg != got[j] || strings.HasPrefix(seg, "{") && got[j] == "" {
				ok = false
				break
			}
		}
		if ok && (best == nil || moreSpecific(lr.segments, best.segments)) {
			best = lr
		}
	}
	if best == nil {
		return nil, false
	}
	for j, seg := range best.segments {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			v, err := url.PathUnescape(got[j])
			if err != nil {
				return nil, false
			}
			r.SetPathValue(strings.TrimSuffix(name, "}"), v)
		}
	}
	return best, true
}

func moreSpecific(a, b []string) bool {
	for i := range a {
		la, lb := !strings.HasPrefix(a[i], "{"), !strings.HasPrefix(b[i], "{")
		if la != lb {
			return la
		}
	}
	return false
}

// Close drops WebSocket connections and ends background invocations.
func (s *Server) Close() {
	s.sockets.Close()
	s.invoke.Close()
}

// Patterns lists the routes the server serves (for the route table test).
func (s *Server) Patterns() []string {
	var out []string
	for _, rt := range routes.Table {
		if _, ok := s.Functions[rt.Function]; ok {
			out = append(out, rt.Pattern())
		}
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/2015-03-31/functions/") && strings.HasSuffix(p, "/invocations"):
		s.invoke.ServeHTTP(w, r)
		return
	case p == "/"+Stage || strings.HasPrefix(p, "/"+Stage+"/@connections/"):
		s.sockets.ServeHTTP(w, r)
		return
	case r.Method == http.MethodGet && p == JWKSPath:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.jwks)
		return
	}
	lr, ok := s.match(r)
	if !ok {
		// API Gateway answers unknown routes itself.
		writeGateway(w, http.StatusNotFound, "Not Found")
		return
	}
	lr.handler.ServeHTTP(w, r)
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func (s *Server) route(rt routes.Route, fn Function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		claims, err := s.Auth.Verify(r)
		if err != nil {
			writeGateway(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			writeGateway(w, http.StatusBadRequest, "Bad Request")
			return
		}
		ev := Event(rt, r, body, claims)
		if sf, ok := fn.(streamed); ok {
			req, err := new(core.RequestAccessorV2).EventToRequestWithContext(r.Context(), ev)
			if err != nil {
				writeGateway(w, http.StatusBadRequest, "Bad Request")
				return
			}
			sf.h.ServeHTTP(w, req)
			slog.Info("request", "route", rt.Pattern(), "function", rt.Function, "streamed", true, "ms", time.Since(start).Milliseconds())
			return
		}
		resp, err := fn.ProxyWithContext(r.Context(), ev)
		if err != nil {
			slog.Error("function failed", "function", rt.Function, "err", err)
			writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		writeResponse(w, resp)
		slog.Info("request", "route", rt.Pattern(), "function", rt.Function, "status", resp.StatusCode, "ms", time.Since(start).Milliseconds())
	})
}

// Event builds the HTTP API payload 2.0 event API Gateway would send for r.
func Event(rt routes.Route, r *http.Request, body []byte, claims map[string]string) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: rt.Pattern(), RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: rt.Pattern(), AccountID: "000000000000", Stage: "$default", RequestID: hex.EncodeToString(id),
			APIID: "local", DomainName: r.Host, DomainPrefix: strings.Split(r.Host, ".")[0],
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: host(r.RemoteAddr), UserAgent: r.UserAgent(),
			},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
			},
		},
	}
	for k, v := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			ev.Cookies = append(ev.Cookies, v...)
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, v := range q {
			ev.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		if ev.PathParameters == nil {
			ev.PathParameters = map[string]string{}
		}
		ev.PathParameters[m[1]] = r.PathValue(m[1])
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

func host(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// writeGateway answers as API Gateway itself does, before any function runs.
func writeGateway(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"message\":%q}\n", msg)
}
