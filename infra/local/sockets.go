package local

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/envhub/envhub/shared/routes"
	"github.com/envhub/envhub/shared/socket"
)

// SocketFunction is a function the WebSocket API invokes.
type SocketFunction interface {
	Socket(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)
}

// Stage is the local WebSocket API's stage: clients connect to
// ws://<host>/ws; functions post to http://<host>/ws/@connections/{id}.
const Stage = "ws"

// PostTimeout is how long a post to a client that does not read may block
// before the connection is dropped (API Gateway, too, drops clients that
// do not keep up).
var PostTimeout = 10 * time.Second

// Sockets is the local stand-in for an API Gateway WebSocket API: it calls
// the route table's functions with the events API Gateway sends
// ($connect before accepting, each message by its action, $disconnect),
// and serves the management API (@connections) to SigV4-signed callers.
type Sockets struct {
	fns   map[string]SocketFunction
	creds Credentials
	mu    sync.Mutex
	conns map[string]*conn
}

type conn struct {
	ws        *websocket.Conn
	connected time.Time
	sourceIP  string
	domain    string
}

// NewSockets serves the WebSocket routes with fns (by function name).
func NewSockets(fns map[string]SocketFunction, creds Credentials) (*Sockets, error) {
	for _, rt := range routes.Sockets {
		if fns[rt.Function] == nil {
			return nil, fmt.Errorf("WebSocket route %s: no function %q", rt.Key, rt.Function)
		}
	}
	return &Sockets{fns: fns, creds: creds, conns: map[string]*conn{}}, nil
}

func (s *Sockets) route(key string) routes.SocketRoute {
	for _, rt := range routes.Sockets {
		if rt.Key == key {
			return rt
		}
	}
	return s.route("$default")
}

// SocketEvent builds the event API Gateway sends a WebSocket route
// (eventType CONNECT, MESSAGE or DISCONNECT); r is $connect's handshake.
func SocketEvent(routeKey, eventType, id string, connectedAt time.Time, sourceIP string, r *http.Request, body string) events.APIGatewayWebsocketProxyRequest {
	c := &conn{connected: connectedAt, sourceIP: sourceIP}
	if r != nil {
		c.domain = r.Host
	}
	return event(routeKey, eventType, id, c, r, body)
}

func event(routeKey, eventType, id string, c *conn, r *http.Request, body string) events.APIGatewayWebsocketProxyRequest {
	now := time.Now().UTC()
	rid := make([]byte, 8)
	_, _ = rand.Read(rid)
	ev := events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: routeKey, EventType: eventType, ConnectionID: id, Stage: Stage, APIID: "local", AccountID: "000000000000",
		RequestID: base64.RawURLEncoding.EncodeToString(rid), ExtendedRequestID: base64.RawURLEncoding.EncodeToString(rid),
		ConnectedAt: c.connected.UnixMilli(), RequestTime: now.Format("02/Jan/2006:15:04:05 -0700"), RequestTimeEpoch: now.UnixMilli(),
		MessageDirection: "IN", Identity: events.APIGatewayRequestIdentity{SourceIP: c.sourceIP}, DomainName: c.domain,
	}}
	if r != nil { // $connect carries the handshake's headers and query
		ev.Headers, ev.MultiValueHeaders = map[string]string{}, map[string][]string{}
		for k, v := range r.Header {
			ev.Headers[k] = strings.Join(v, ",")
			ev.MultiValueHeaders[k] = v
		}
		if q := r.URL.Query(); len(q) > 0 {
			ev.QueryStringParameters, ev.MultiValueQueryStringParameters = map[string]string{}, map[string][]string(q)
			for k, v := range q {
				ev.QueryStringParameters[k] = v[len(v)-1]
			}
		}
	}
	return ev
}

// connect runs $connect and, if the function accepts, the connection.
func (s *Sockets) connect(w http.ResponseWriter, r *http.Request) {
	idb := make([]byte, 12)
	_, _ = rand.Read(idb)
	id := base64.StdEncoding.EncodeToString(idb) // as API Gateway's: may hold + and /
	c := &conn{connected: time.Now(), sourceIP: host(r.RemoteAddr), domain: r.Host}
	rt := s.route("$connect")
	resp, err := s.fns[rt.Function].Socket(r.Context(), event("$connect", "CONNECT", id, c, r, ""))
	if err != nil || resp.StatusCode != http.StatusOK {
		status := http.StatusInternalServerError
		if err == nil {
			status = resp.StatusCode
		}
		writeGateway(w, status, http.StatusText(status))
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // API Gateway checks no Origin
	if err != nil {
		return
	}
	ws.SetReadLimit(socket.MaxMessage)
	c.ws = ws
	s.mu.Lock()
	s.conns[id] = c
	s.mu.Unlock()
	status := s.serve(r.Context(), id, c)
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
	ev := event("$disconnect", "DISCONNECT", id, c, nil, "")
	ev.RequestContext.DisconnectStatusCode = int64(status)
	rt = s.route("$disconnect")
	if _, err := s.fns[rt.Function].Socket(context.WithoutCancel(r.Context()), ev); err != nil {
		slog.Error("$disconnect", "connection", id, "err", err)
	}
}

// serve routes the client's messages by their action until it goes.
func (s *Sockets) serve(ctx context.Context, id string, c *conn) websocket.StatusCode {
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st != -1 {
				return st
			}
			return websocket.StatusGoingAway
		}
		var sel struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal(data, &sel)
		rt := s.route(sel.Action)
		if strings.HasPrefix(sel.Action, "$") {
			rt = s.route("$default") // $connect and such are no actions
		}
		ev := event(rt.Key, "MESSAGE", id, c, nil, string(data))
		resp, err := s.fns[rt.Function].Socket(ctx, ev)
		if err != nil {
			slog.Error("websocket route", "route", rt.Key, "err", err)
			_ = c.ws.Write(ctx, websocket.MessageText, []byte(`{"message": "Internal server error"}`))
			continue
		}
		if rt.TwoWay && resp.Body != "" {
			_ = c.ws.Write(ctx, websocket.MessageText, []byte(resp.Body))
		}
	}
}

// manage serves POST, GET and DELETE @connections/{id} as API Gateway's
// management API does, to callers signing with the local credentials.
func (s *Sockets) manage(w http.ResponseWriter, r *http.Request, rawID string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, socket.MaxMessage+1))
	if err != nil {
		writeGateway(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if err := s.creds.Verify(r, body, socket.Service); err != nil {
		writeGateway(w, http.StatusForbidden, "request not signed with the local server's credentials: "+err.Error())
		return
	}
	id, err := url.PathUnescape(rawID)
	if err != nil {
		writeGateway(w, http.StatusBadRequest, "Bad Request")
		return
	}
	s.mu.Lock()
	c := s.conns[id]
	s.mu.Unlock()
	if c == nil {
		w.Header().Set("X-Amzn-ErrorType", "GoneException")
		writeGateway(w, http.StatusGone, "")
		return
	}
	switch r.Method {
	case http.MethodPost:
		if len(body) > socket.MaxMessage {
			w.Header().Set("X-Amzn-ErrorType", "PayloadTooLargeException")
			writeGateway(w, http.StatusRequestEntityTooLarge, "Message too long")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), PostTimeout)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageText, body); err != nil {
			_ = c.ws.CloseNow() // a client that does not read is let go
			w.Header().Set("X-Amzn-ErrorType", "GoneException")
			writeGateway(w, http.StatusGone, "")
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"connectedAt": c.connected.UTC().Format(time.RFC3339),
			"identity": map[string]string{"sourceIp": c.sourceIP}})
	default:
		writeGateway(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// ServeHTTP serves the stage: the WebSocket handshake at /ws and the
// management API under /ws/@connections/.
func (s *Sockets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.EscapedPath(), "/"+Stage+"/@connections/"); ok {
		s.manage(w, r, id)
		return
	}
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeGateway(w, http.StatusBadRequest, "a WebSocket handshake is expected here")
		return
	}
	s.connect(w, r)
}

// Close drops every connection (their $disconnect runs).
func (s *Sockets) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.ws.CloseNow()
	}
}
