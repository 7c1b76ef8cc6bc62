package logs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/envhub/envhub/functions/logs"
	"github.com/envhub/envhub/infra/local"
	lt "github.com/envhub/envhub/infra/local/localtest"
)

// functionURL serves h as a Lambda Function URL in RESPONSE_STREAM mode
// does: each request becomes the Function URL's event, handled by
// aws-lambda-go's lambdaurl adapter (what deps.StartStream starts in
// Lambda), whose streamed body is passed on as it comes.
func functionURL(h http.Handler) http.Handler {
	fn := lambdaurl.Wrap(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev := &events.LambdaFunctionURLRequest{Version: "2.0", RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
			Headers: map[string]string{}, RequestContext: events.LambdaFunctionURLRequestContext{DomainName: r.Host,
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path, SourceIP: "127.0.0.1"}}}
		for k, v := range r.Header {
			ev.Headers[strings.ToLower(k)] = strings.Join(v, ",")
		}
		resp, err := fn(r.Context(), ev)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if c, ok := resp.Body.(io.Closer); ok {
			defer c.Close() // the client gone: the handler's writes fail
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		w.(http.Flusher).Flush()
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	})
}

// The Function URL entry (URL), where the SSE route follows, verifies the
// bearer token itself as the HTTP API's authorizer would: no token, one
// that is not the issuer's (another key), garbage or expired is answered
// 401 {"message":"Unauthorized"} as API Gateway answers it; with a token of
// the issuer the route answers a text/event-stream that follows the log
// (a line written once it is open arrives), and bad input is the route's
// own 4xx; with no issuer configured it serves nothing (503). Served by a
// plain HTTP server, and as Lambda serves it (lambdaurl).
func TestURL(t *testing.T) {
	f := setup(t, "w12")
	pod := f.pod(t, "w12")
	fn, err := logs.NewFunction(f.e.Deps)
	if err != nil {
		t.Fatal(err)
	}
	other, err := local.LoadAuthorizer(filepath.Join(t.TempDir(), "other.pem"))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Mint("alice", "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := f.e.Auth.Mint("alice", "", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	good := f.e.Token(t, lt.Alice)
	path := "/openapi/logs/sse/pods/" + pod + "/containers/web?projectKey=" + project + "&envName=w12"

	// Without an issuer to verify tokens with, nothing is served.
	d := *f.e.Deps
	d.Verifier = nil
	unconfigured, err := logs.NewFunction(&d)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path+"&tails=0", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	if unconfigured.URL().ServeHTTP(w, r); w.Code != http.StatusServiceUnavailable {
		t.Errorf("no issuer: %d %s", w.Code, w.Body)
	}

	for _, s := range []struct {
		name string
		h    http.Handler
	}{
		{"net/http", fn.URL()},
		{"lambdaurl", functionURL(fn.URL())},
	} {
		t.Run(s.name, func(t *testing.T) {
			srv := httptest.NewServer(s.h)
			t.Cleanup(srv.Close)
			get := func(ctx context.Context, auth, query string) *http.Response {
				t.Helper()
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path+query, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			for _, c := range []struct {
				name, auth, query string
				status            int
				says              string // in the answer's message
			}{
				{"no token", "", "&tails=0", 401, "Unauthorized"},
				{"not a bearer token", "Basic " + good, "&tails=0", 401, "Unauthorized"},
				{"garbage", "Bearer abc.def.ghi", "&tails=0", 401, "Unauthorized"},
				{"another issuer's key", "Bearer " + forged, "&tails=0", 401, "Unauthorized"},
				{"expired", "Bearer " + expired, "&tails=0", 401, "Unauthorized"},
				{"garbage in the query", "", "&tails=0&token=abc.def.ghi", 401, "Unauthorized"},
				{"a bad tails", "Bearer " + good, "&tails=-1", 400, "tails"},
			} {
				resp := get(context.Background(), c.auth, c.query)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var m struct{ Message string }
				if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
					json.Unmarshal(body, &m) != nil || !strings.Contains(m.Message, c.says) {
					t.Errorf("%s: %d %s %s, want %d naming %q", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.says)
				}
				if c.status == 401 && strings.TrimSpace(string(body)) != `{"message":"Unauthorized"}` {
					t.Errorf("%s: %s, as API Gateway answers a refused token", c.name, body)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resp := get(ctx, "Bearer "+good, "&tails=0")
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
				t.Fatalf("follow: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				r := bufio.NewReader(resp.Body)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					select {
					case lines <- strings.TrimSuffix(l, "\n"):
					case <-ctx.Done():
						return
					}
				}
			}()
			// The stream follows from when the apiserver opened it: write until
			// a line comes through.
			mark := fmt.Sprintf("u%d", time.Now().UnixNano())
			for i := 0; ; i++ {
				line := fmt.Sprintf("%s %d", mark, i)
				f.write(t, line)
				wait := time.After(time.Second)
			read:
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							t.Fatalf("the stream ended: %v", ctx.Err())
						}
						if l == "data: "+line {
							return
						}
					case <-wait:
						break read
					}
				}
			}
		})
	}
}
