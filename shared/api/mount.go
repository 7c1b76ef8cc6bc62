package api

import (
	"fmt"
	"net/http"

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
			r = r.WithContext(WithAction(r.Context(), action))
			if err := h(w, r); err != nil {
				WriteError(w, r, err)
			}
		})
	}
	for a := range actions {
		if !seen[a] {
			return nil, fmt.Errorf("function %s: handler %s has no route in the table", function, a)
		}
	}
	return mux, nil
}
