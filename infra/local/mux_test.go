package local_test

import (
	"encoding/json"
	"net/http"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/shared/routes"
)

// newMux serves one route and hands the event the server would build to got.
func newMux(rt routes.Route, got func([]byte), body string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(rt.Pattern(), func(w http.ResponseWriter, r *http.Request) {
		ev := local.Event(rt, r, []byte(body), map[string]string{"sub": "alice", "iss": local.Issuer, "aud": local.Audience})
		ev.RequestContext.HTTP.SourceIP = "203.0.113.10"
		data, _ := json.MarshalIndent(ev, "", "  ")
		got(append(data, '\n'))
	})
	return mux
}
