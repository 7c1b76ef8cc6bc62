package logs

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/store"
)

// MaxConnection is how long a WebSocket connection lives at most (API
// Gateway's limit), and so its records; a token expiring sooner ends it sooner.
const MaxConnection = 2 * time.Hour

// Socket serves the WebSocket API's routes (routes.Sockets): $connect
// authenticates, subscribe starts a log stream pushed to the connection
// by a worker, unsubscribe and $disconnect end them. Answers to subscribe
// and unsubscribe go back to the client (two-way routes).
func (h *Handler) Socket(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	rc := ev.RequestContext
	var (
		out any
		err error
	)
	switch rc.RouteKey {
	case "$connect":
		if err = h.connect(ctx, rc.ConnectionID, ev); err != nil {
			m := errorMessage(ctx, "", err)
			if m.Status == http.StatusUnauthorized {
				m.Message = "Unauthorized" // which check failed stays here
				slog.InfoContext(ctx, "$connect refused", "err", err)
			}
			return reply(m.Status, m), nil
		}
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
	case "$disconnect":
		if err := h.Conns.DeleteConnection(ctx, rc.ConnectionID); err != nil {
			slog.ErrorContext(ctx, "disconnect", "connection", rc.ConnectionID, "err", err)
		}
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
	case "subscribe":
		out, err = h.subscribe(ctx, rc.ConnectionID, []byte(ev.Body))
	case "unsubscribe":
		out, err = h.unsubscribe(ctx, rc.ConnectionID, []byte(ev.Body))
	default:
		err = errs.Invalid("action", "must be subscribe or unsubscribe")
	}
	if err != nil {
		return reply(http.StatusOK, errorMessage(ctx, "", err)), nil
	}
	return reply(http.StatusOK, out), nil
}

func reply(status int, v any) events.APIGatewayProxyResponse {
	b, _ := json.Marshal(v)
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(b), Headers: map[string]string{"Content-Type": "application/json"}}
}

// message is what the API sends a WebSocket client.
type message struct {
	Type    string     `json:"type"` // subscribed, unsubscribed, lines, end, error
	ID      string     `json:"id,omitempty"`
	Status  int        `json:"status,omitempty"`
	Message string     `json:"message,omitempty"`
	Pod     string     `json:"pod,omitempty"`
	Service string     `json:"service,omitempty"`
	Lines   []sentLine `json:"lines,omitempty"`
	Dropped int        `json:"dropped,omitempty"` // lines dropped before these (the client read too slowly)
}

// sentLine is one log line: its pod (a service streams several), and its
// cursor, which a later subscription's since resumes after.
type sentLine struct {
	Pod    string `json:"pod"`
	Cursor string `json:"cursor"`
	Text   string `json:"text"`
}

// errorMessage is err in the one error model: a 5xx's details stay in the log.
func errorMessage(ctx context.Context, id string, err error) message {
	status, _ := api.Status(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		slog.ErrorContext(ctx, "websocket", "subscription", id, "err", err)
		msg = "internal error"
	}
	return message{Type: "error", ID: id, Status: status, Message: msg}
}

// connect verifies the token (Authorization header, or the token query
// parameter browsers must use) and records who the connection is.
func (h *Handler) connect(ctx context.Context, id string, ev events.APIGatewayWebsocketProxyRequest) error {
	if h.Verifier == nil {
		return errors.New("no JWT issuer configured (JWT_ISSUER)")
	}
	tok := ""
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "Authorization") {
			tok = auth.Bearer(v)
		}
	}
	if tok == "" {
		tok = ev.QueryStringParameters["token"]
	}
	claims, exp, err := h.Verifier.Verify(ctx, tok)
	if err != nil {
		return err
	}
	caller, err := auth.FromClaims(claims)
	if err != nil {
		return err
	}
	if limit := time.Now().Add(MaxConnection); exp.After(limit) {
		exp = limit
	}
	return h.Conns.PutConnection(ctx, store.Connection{ID: id, Subject: caller.Subject, Admin: caller.Admin, Expires: exp})
}

// subscribeMsg is {"action":"subscribe",...}: one pod's container, or
// every pod of a service; tails lines to start with, or since a time or a
// line's cursor.
type subscribeMsg struct {
	Action     string `json:"action"`
	ID         string `json:"id"`
	ProjectKey string `json:"projectKey"`
	EnvName    string `json:"envName"`
	Pod        string `json:"pod"`
	Service    string `json:"service"`
	Container  string `json:"container"`
	Tails      *int   `json:"tails"`
	Since      string `json:"since"`
}

var subID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (h *Handler) subscribe(ctx context.Context, connID string, body []byte) (any, error) {
	var m subscribeMsg
	if err := api.Decode(body, &m); err != nil {
		return nil, err
	}
	conn, err := h.Conns.Connection(ctx, connID)
	if err != nil {
		return nil, err
	}
	sub, from, err := m.subscription(connID)
	if err != nil {
		return nil, err
	}
	caller := auth.Identity{Subject: conn.Subject, Admin: conn.Admin}
	sub.Subject = caller.Subject
	if _, err := h.open(ctx, caller, sub); err != nil {
		return nil, err
	}

	if !from.IsZero() {
		sub.Cursors = map[string]string{sub.Pod: from.String()}
	}
	if err := h.Conns.Subscribe(ctx, sub, conn.Expires); err != nil {
		return nil, err
	}
	if err := h.startWorker(ctx, Job{Connection: connID, Subscription: sub.ID, Gen: sub.Gen, First: true}); err != nil {
		_ = h.Conns.Unsubscribe(ctx, sub.Subject, connID, sub.ID, sub.Gen)
		return nil, err
	}
	return message{Type: "subscribed", ID: sub.ID, Pod: sub.Pod, Service: sub.Service}, nil
}

// subscription checks the message and makes the record it asks for; from
// is a pod's cursor when since is one.
func (m subscribeMsg) subscription(connID string) (store.Subscription, cluster.Cursor, error) {
	var from cluster.Cursor
	sub := store.Subscription{Connection: connID, ID: m.ID, Project: m.ProjectKey, Env: m.EnvName, Pod: m.Pod,
		Service: m.Service, Container: m.Container, Tails: DefaultTails, Since: time.Now().UTC(), Gen: newGen()}
	if sub.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		sub.ID = hex.EncodeToString(b)
	} else if !subID.MatchString(sub.ID) {
		return sub, from, errs.Invalid("id", "%q must be 1 to 64 letters, digits, - or _", m.ID)
	}
	if m.Container != "" {
		if msgs := validation.IsDNS1123Label(m.Container); len(msgs) > 0 {
			return sub, from, errs.Invalid("container", "%q is not a container name: %s", m.Container, strings.Join(msgs, "; "))
		}
	}
	if (m.Pod == "") == (m.Service == "") {
		return sub, from, errs.Invalid("pod", "give exactly one of pod and service")
	}
	if m.Tails != nil {
		if *m.Tails < 0 || *m.Tails > MaxTails {
			return sub, from, errs.Invalid("tails", "must be between 0 and %d", MaxTails)
		}
		sub.Tails = *m.Tails
	}
	if m.Since != "" {
		if c, err := cluster.ParseCursor("since", m.Since); err == nil && m.Pod != "" {
			from = c
			sub.Since = c.Time
		} else if t, err := time.Parse(time.RFC3339Nano, m.Since); err == nil {
			sub.Since = t.UTC()
		} else {
			return sub, from, errs.Invalid("since", "%q must be an RFC 3339 time (or, for a pod, a line's cursor)", m.Since)
		}
		sub.Tails = -1 // since, not a tail
	}
	return sub, from, nil
}

// newGen names a worker generation: random, so a subscription made again
// under the same id is not the one an old worker owned.
func newGen() int64 {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return int64(binary.BigEndian.Uint64(b) >> 1)
}

func (h *Handler) unsubscribe(ctx context.Context, connID string, body []byte) (any, error) {
	var m struct {
		Action string `json:"action"`
		ID     string `json:"id"`
	}
	if err := api.Decode(body, &m); err != nil {
		return nil, err
	}
	if !subID.MatchString(m.ID) {
		return nil, errs.Invalid("id", "must name a subscription of this connection")
	}
	conn, err := h.Conns.Connection(ctx, connID)
	if err != nil {
		return nil, err
	}
	if err := h.Conns.Unsubscribe(ctx, conn.Subject, connID, m.ID, 0); err != nil {
		return nil, err
	}
	return message{Type: "unsubscribed", ID: m.ID}, nil
}

// startWorker invokes this function again, asynchronously, to stream a
// subscription: a worker (worker.go) runs until the connection or the
// subscription ends, or hands over before its Lambda's time is up.
func (h *Handler) startWorker(ctx context.Context, j Job) error {
	payload, err := json.Marshal(map[string]Job{workerKey: j})
	if err != nil {
		return err
	}
	if err := h.Invoker.Invoke(ctx, payload); err != nil {
		return fmt.Errorf("start the log stream: %w", err)
	}
	return nil
}
