package logs

import (
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
)

// URL is the HTTP side behind a Lambda Function URL in RESPONSE_STREAM mode
// (aws-lambda-go's lambdaurl), where the SSE route follows. No authorizer
// stands before a Function URL: the bearer token is verified here, as the
// HTTP API's JWT authorizer would (same issuer, audience and claims).
func (f *Function) URL() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.h.Verifier == nil {
			api.WriteError(w, r, errs.ErrUnavailable)
			return
		}
		// A browser's EventSource sets no header: it may send ?token= instead.
		tok := auth.Bearer(r.Header.Get("Authorization"))
		if q := r.URL.Query(); q.Has("token") {
			if tok == "" {
				tok = q.Get("token")
			}
			q.Del("token")
			r.URL.RawQuery = q.Encode()
		}
		claims, _, err := f.h.Verifier.Verify(r.Context(), tok)
		if err != nil {
			// As API Gateway answers a refused token, before any route.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Unauthorized"}` + "\n"))
			return
		}
		f.mux.Routing().ServeHTTP(flushing{w}, r.WithContext(auth.WithClaims(r.Context(), claims)))
	})
}

// flushing marks lambdaurl's writer, which writes straight into the
// response stream, as one that flushes (the SSE route follows on writers
// that do); a writer beneath that can flush (net/http's) is flushed.
type flushing struct{ http.ResponseWriter }

func (f flushing) Flush()                      { _ = http.NewResponseController(f.ResponseWriter).Flush() }
func (f flushing) Unwrap() http.ResponseWriter { return f.ResponseWriter }
