package logs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/envhub/envhub/functions/logs"
	lt "github.com/envhub/envhub/infra/local/localtest"
)

func TestURLProbe(t *testing.T) {
	f := setup(t, "w4")
	pod := f.pod(t, "w4")
	fn, err := logs.NewFunction(f.e.Deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fn.URL())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/openapi/logs/sse/pods/"+pod+"/containers/web?projectKey=lg&envName=w4&tails=0", nil)
	req.Header.Set("Authorization", "Bearer "+f.e.Token(t, lt.Alice))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	t.Logf("%d %v %s", resp.StatusCode, resp.Header, b)
}
