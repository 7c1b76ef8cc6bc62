package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/shared/workflow"
)

// The local Lambda Invoke API runs tasks with the functions' own rights,
// past every JWT check, so it serves only requests SigV4-signed with the
// local server's credentials: an unsigned or mis-signed call (say, a
// delete-namespace task aimed at someone's environment) is a 403 and runs
// nothing; the state machine engine's signed calls run (TestLocalStateMachine).
func TestInvokeNeedsSigV4(t *testing.T) {
	ran := 0
	tasks := map[string]workflow.Task{"envflow": func(context.Context, json.RawMessage) (any, error) { ran++; return "done", nil }}
	path := filepath.Join(t.TempDir(), "state", "lambda-credentials")
	creds, err := local.LoadCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := local.LoadCredentials(path); err != nil || again != creds {
		t.Fatalf("credentials are not kept: %v", err)
	}
	hs := httptest.NewServer(local.Invoke(tasks, creds))
	defer hs.Close()
	body := []byte(`{"task":"delete-namespace","environment_id":"env-x","operation_id":"op-x"}`)
	call := func(sign func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/2015-03-31/functions/envflow/invocations", bytes.NewReader(body))
		sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	other := local.NewCredentials()
	for name, c := range map[string]struct {
		sign func(*http.Request)
		want int
	}{
		"unsigned":          {func(*http.Request) {}, 403},
		"other credentials": {func(r *http.Request) { _ = other.Sign(r, body, "lambda") }, 403},
		"other body":        {func(r *http.Request) { _ = creds.Sign(r, []byte(`{}`), "lambda") }, 403},
		"other service":     {func(r *http.Request) { _ = creds.Sign(r, body, "s3") }, 403},
		"forged header": {func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/x")
		}, 403},
		"signed": {func(r *http.Request) { _ = creds.Sign(r, body, "lambda") }, 200},
	} {
		if got := call(c.sign); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
	if ran != 1 {
		t.Fatalf("the task ran %d times, want once (the signed call)", ran)
	}
}
