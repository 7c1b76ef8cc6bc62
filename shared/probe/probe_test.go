package probe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/envhub/envhub/infra/local/testcert"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/qingcloud"
)

// marker stands for whatever an internal service would return: it must
// never reach the 400.
const marker = "SECRET-MARKER-7f3a"

func caData(srv *httptest.Server) string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

func status(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"message": "token " + marker + " is not valid", "reason": reason, "code": code,
		"details": map[string]any{"causes": []map[string]string{{"message": marker}}}})
}

func text(w http.ResponseWriter, code int, ctype string) {
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte("<html><body>internal admin panel: " + marker + "</body></html>"))
}

// apiserver answers like a Kubernetes apiserver unless override handles
// the path (override returns true when it answered).
func apiserver(override func(w http.ResponseWriter, r *http.Request) bool) http.HandlerFunc {
	answer := testcert.APIServer(func(w http.ResponseWriter, _ *http.Request) { status(w, http.StatusNotFound, "NotFound") })
	return func(w http.ResponseWriter, r *http.Request) {
		if override == nil || !override(w, r) {
			answer(w, r)
		}
	}
}

func on(path string, answer func(http.ResponseWriter)) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path && !strings.HasSuffix(r.URL.Path, path) {
			return false
		}
		answer(w)
		return true
	}
}

func TestKubernetesFailuresDoNotEchoTheRemote(t *testing.T) {
	p := Probes{Policy: netguard.Policy{AllowLoopback: true}}
	foreignCA := testcert.CAData(t)
	closed := httptest.NewTLSServer(apiserver(nil))
	closed.Close()
	plain := httptest.NewServer(apiserver(nil))
	defer plain.Close()

	cases := []struct {
		name     string
		override func(http.ResponseWriter, *http.Request) bool
		endpoint func(srv *httptest.Server) string
		ca       func(srv *httptest.Server) string
		field    string
		says     string
	}{
		{name: "works"},
		{name: "html error page", override: on("/version", func(w http.ResponseWriter) { text(w, 500, "text/html") }),
			field: "endpoint", says: "not a Kubernetes apiserver: it answered HTTP status code 500"},
		{name: "text error without content type", override: on("/version", func(w http.ResponseWriter) { text(w, 502, "") }),
			field: "endpoint", says: "HTTP status code 502"},
		{name: "html page with 200", override: on("/version", func(w http.ResponseWriter) { text(w, 200, "text/html") }),
			field: "endpoint", says: "not a Kubernetes apiserver: it answered HTTP status code 200"},
		{name: "json 200 that is not a version", override: on("/version", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"gitVersion":"` + marker + `"`))
		}), field: "endpoint", says: "HTTP status code 200"},
		{name: "401 html", override: on("/version", func(w http.ResponseWriter) { text(w, 401, "text/plain") }),
			field: "endpoint", says: "HTTP status code 401 without a Kubernetes Status"},
		{name: "token rejected", override: on("/version", func(w http.ResponseWriter) { status(w, 401, "Unauthorized") }),
			field: "content", says: "rejected by https://127.0.0.1"},
		{name: "review forbidden", override: on("/selfsubjectreviews", func(w http.ResponseWriter) { status(w, 403, "Forbidden") }),
			field: "content", says: "HTTP status code 403 (Forbidden)"},
		{name: "reason not a word", override: on("/version", func(w http.ResponseWriter) { status(w, 401, marker) }),
			field: "content", says: "HTTP status code 401"},
		{name: "status error", override: on("/selfsubjectreviews", func(w http.ResponseWriter) { status(w, 404, "NotFound") }),
			field: "endpoint", says: "answered HTTP status code 404 (NotFound)"},
		{name: "review is not json", override: on("/selfsubjectreviews", func(w http.ResponseWriter) { text(w, 201, "application/json") }),
			field: "endpoint", says: "not a Kubernetes apiserver"},
		{name: "may not create namespaces", override: on("/selfsubjectaccessreviews", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":false,"reason":"` + marker + `"}}`))
		}), field: "content", says: "may not create, get, patch, delete namespaces"},
		{name: "may not create namespaces, odd user", override: func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "/selfsubjectreviews") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(201)
				_, _ = w.Write([]byte(`{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"` + marker + `"}}}`))
				return true
			}
			if strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(201)
				_, _ = w.Write([]byte(`{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":false}}`))
				return true
			}
			return false
		}, field: "content", says: "may not create, get, patch, delete namespaces"},
		{name: "wrong CA", ca: func(*httptest.Server) string { return foreignCA },
			field: "endpoint", says: "TLS not verified"},
		{name: "nothing listening", endpoint: func(*httptest.Server) string { return closed.URL },
			field: "endpoint", says: "connection refused"},
		{name: "not TLS", endpoint: func(*httptest.Server) string { return strings.Replace(plain.URL, "http:", "https:", 1) },
			field: "endpoint", says: "does not speak TLS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(apiserver(c.override))
			defer srv.Close()
			endpoint, ca := srv.URL, caData(srv)
			if c.endpoint != nil {
				endpoint = c.endpoint(srv)
			}
			if c.ca != nil {
				ca = c.ca(srv)
			}
			env := &model.RuntimeEnv{Runtime: model.Kubernetes, Endpoint: endpoint}
			err := p.Credential(context.Background(), env, map[string]string{"server": endpoint, "token": "t", "certificate_authority_data": ca})
			if c.field == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			t.Log(err)
			if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), ": "+c.field+": ") || !strings.Contains(err.Error(), c.says) {
				t.Errorf("err = %v, want 400 naming %s saying %q", err, c.field, c.says)
			}
			if err != nil && strings.Contains(err.Error(), marker) {
				t.Errorf("the remote's text reached the message: %v", err)
			}
		})
	}
}

// QingCloud answers are not quoted either: not its message, its action, its
// body, nor zone ids that are not zone ids.
func TestQingCloudFailuresDoNotEchoTheRemote(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rejected/":
			_, _ = w.Write([]byte(`{"ret_code":1200,"message":"` + marker + `"}`))
		case "/action/":
			_, _ = w.Write([]byte(`{"action":"` + marker + `","ret_code":0}`))
		case "/html/":
			text(w, 500, "text/html")
		case "/html200/":
			text(w, 200, "text/html")
		default:
			_, _ = w.Write([]byte(`{"action":"DescribeZonesResponse","ret_code":0,"zone_set":[{"zone_id":"pek3a","status":"active"},{"zone_id":"` + marker + `","status":"active"}]}`))
		}
	}))
	defer srv.Close()
	p := Probes{QingCloud: &qingcloud.Client{HTTP: netguard.Policy{AllowLoopback: true}.HTTPClient(0)}}
	cases := []struct{ path, zone, field, says string }{
		{"/rejected/", "pek3a", "content", "ret_code 1200"},
		{"/action/", "pek3a", "endpoint", "did not answer DescribeZones like QingCloud"},
		{"/html/", "pek3a", "endpoint", "HTTP status code 500"},
		{"/html200/", "pek3a", "endpoint", "not with QingCloud JSON"},
		{"/zones/", "gd2", "zone", "active: [pek3a]"},
	}
	for _, c := range cases {
		env := &model.RuntimeEnv{Runtime: model.QingCloud, Endpoint: srv.URL + c.path, Zone: c.zone}
		err := p.Credential(context.Background(), env, map[string]string{"access_key_id": "AK", "secret_access_key": "SK"})
		t.Log(err)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), ": "+c.field+": ") || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: err = %v, want 400 naming %s saying %q", c.path, err, c.field, c.says)
		}
		if err != nil && strings.Contains(err.Error(), marker) {
			t.Errorf("%s: the remote's text reached the message: %v", c.path, err)
		}
	}
}
