package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/envhub/envhub/shared/routes"
)

type routeKey struct{}

// WithRoute records the route being served, for responses and logs.
func WithRoute(ctx context.Context, r routes.Route) context.Context {
	return context.WithValue(ctx, routeKey{}, r)
}

// Route returns the route being served.
func Route(ctx context.Context) routes.Route {
	r, _ := ctx.Value(routeKey{}).(routes.Route)
	return r
}

// Action returns the action of the route being served.
func Action(ctx context.Context) string { return Route(ctx).Action }

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

// openAPIError is the environment API's error body.
type openAPIError struct {
	Code        int    `json:"code"`
	Message     string `json:"message"`
	Description string `json:"description"`
}

// WriteError writes err in the one error model, shaped as the route's API
// expects; 500s are logged as bugs and their detail is not shown to the
// caller (503s say which dependency did not answer, in envhub's words).
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := Status(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		slog.ErrorContext(r.Context(), "request failed", "action", Action(r.Context()), "err", err)
		msg = "internal error"
	}
	if Route(r.Context()).OpenAPI() {
		writeJSON(w, status, &openAPIError{Code: status, Message: msg, Description: http.StatusText(status)})
		return
	}
	writeJSON(w, status, &errorBody{Meta{Action(r.Context()) + "Response", code}, msg})
}

// WriteJSON writes a 200 response body as the environment API's spec shows it.
func WriteJSON(w http.ResponseWriter, v any) { writeJSON(w, http.StatusOK, v) }

// WriteSuccess writes the environment API's {"message":"success"}.
func WriteSuccess(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "success"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
