package credential_test

import (
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/infra/local/testcert"
)

// echoMarker stands for an internal service's content: pointing an endpoint
// at it must not read it back through the probe's 400.
const echoMarker = "INTERNAL-SECRET-5d1e"

// internalPage answers every request with an HTML page holding the marker.
func internalPage(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body>admin console " + echoMarker + "</body></html>"))
	}
}

// fakeAPIServer answers the probe's three requests as an apiserver does.
var fakeAPIServer = testcert.APIServer(http.NotFound)

// httptest TLS servers share one certificate, so one CA verifies them all.
func httptestCA(srv *httptest.Server) string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// The probe's 400 states the kind of failure and never echoes the body
// that a non-Kubernetes (or non-QingCloud) endpoint sent back.
func TestProbeDoesNotEchoRemoteBody(t *testing.T) {
	e := lt.New(t)
	page := httptest.NewTLSServer(internalPage(http.StatusInternalServerError))
	defer page.Close()
	page200 := httptest.NewTLSServer(internalPage(http.StatusOK))
	defer page200.Close()
	api := httptest.NewTLSServer(http.HandlerFunc(fakeAPIServer))
	defer api.Close()
	qcPage := httptest.NewServer(internalPage(http.StatusBadGateway))
	defer qcPage.Close()
	qcJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ret_code":1200,"message":"` + echoMarker + `"}`))
	}))
	defer qcJSON.Close()
	ca := httptestCA(api)

	good := makeCred(t, e, lt.Alice, tokenBody(api.URL, "t", ca)) // the fake apiserver passes
	qc := makeCred(t, e, lt.Alice, qcBody("AK", "SK"))
	kubeEnv := e.RuntimeEnv(t, lt.Alice, "endpoint", page.URL, "visibility", "private")
	qcPageEnv := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", qcPage.URL+"/iaas/", "zone", "pek3a", "visibility", "private")
	qcJSONEnv := e.RuntimeEnv(t, lt.Alice, "runtime", "qingcloud", "endpoint", qcJSON.URL+"/iaas/", "zone", "pek3a", "visibility", "private")

	cases := []struct {
		name  string
		call  func() lt.Response
		field string
		says  string
	}{
		{"create against an HTML 500", func() lt.Response {
			return e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: tokenBody(page.URL, "t", ca)})
		}, "endpoint", "HTTP status code 500"},
		{"create against an HTML 200", func() lt.Response {
			return e.Call(lt.Alice, "CreateRuntimeEnvCredential", lt.Req{Body: tokenBody(page200.URL, "t", ca)})
		}, "endpoint", "not a Kubernetes apiserver"},
		{"rotate to an HTML 500", func() lt.Response { return modify(e, lt.Alice, good, tokenBody(page.URL, "t", ca)) },
			"endpoint", "HTTP status code 500"},
		{"attach to an env at an HTML 500", func() lt.Response { return attach(e, lt.Alice, kubeEnv, good) },
			"endpoint", "HTTP status code 500"},
		{"qingcloud env at an HTML 502", func() lt.Response { return attach(e, lt.Alice, qcPageEnv, qc) },
			"endpoint", "HTTP status code 502"},
		{"qingcloud env echoing a message", func() lt.Response { return attach(e, lt.Alice, qcJSONEnv, qc) },
			"content", "ret_code 1200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.call()
			wantErr(t, c.name, r, 400, c.field)
			if !strings.Contains(r.Raw, c.says) {
				t.Errorf("%s: %s does not say %q", c.name, r.Raw, c.says)
			}
			if strings.Contains(r.Raw, echoMarker) {
				t.Errorf("%s: the endpoint's body came back: %s", c.name, r.Raw)
			}
		})
	}
}
