package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
)

type actionKey struct{}

// WithAction records the route's action for responses and logs.
func WithAction(ctx context.Context, action string) context.Context {
	return context.WithValue(ctx, actionKey{}, action)
}

// Action returns the action of the route being served.
func Action(ctx context.Context) string {
	a, _ := ctx.Value(actionKey{}).(string)
	return a
}

// Meta is embedded first in every response body.
type Meta struct {
	Action  string `json:"action"`
	RetCode int    `json:"ret_code"`
}

// Responder lets WriteOK fill in Meta on any response struct that embeds it.
type Responder interface{ meta() *Meta }

func (m *Meta) meta() *Meta { return m }

// WriteOK writes a 200 response with action and ret_code 0.
func WriteOK(w http.ResponseWriter, r *http.Request, body Responder) {
	m := body.meta()
	m.Action = Action(r.Context()) + "Response"
	m.RetCode = 0
	writeJSON(w, http.StatusOK, body)
}

type errorBody struct {
	Meta
	Message string `json:"message"`
}

// WriteError writes err in the one error model; 5xx are logged as bugs and
// their detail is not shown to the caller.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := Status(err)
	msg := err.Error()
	if status >= 500 {
		slog.ErrorContext(r.Context(), "request failed", "action", Action(r.Context()), "err", err)
		msg = "internal error"
	}
	writeJSON(w, status, &errorBody{Meta{Action(r.Context()) + "Response", code}, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
