package local_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envhub/envhub/infra/local"
	"github.com/envhub/envhub/infra/samtemplate"
	"github.com/envhub/envhub/shared/workflow"
)

func repo(parts ...string) string {
	return filepath.Join(append([]string{filepath.Dir(samtemplate.Path())}, parts...)...)
}

// A real ASL engine (aws-local-stepfunctions) runs a definition whose Lambda
// tasks reach Go handlers through the local Lambda Invoke API: errors keep
// their names for Retry and Catch, and Wait + Choice loops run.
func TestLocalStateMachine(t *testing.T) {
	var calls atomic.Int32
	tasks := map[string]workflow.Task{
		"step": func(_ context.Context, payload json.RawMessage) (any, error) {
			var in struct {
				N    int  `json:"n"`
				Fail bool `json:"fail"`
			}
			if err := json.Unmarshal(payload, &in); err != nil {
				return nil, err
			}
			if calls.Add(1) == 1 {
				return nil, &workflow.TaskError{Type: workflow.ErrTransient, Message: "try again"}
			}
			if in.Fail {
				return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: "cannot"}
			}
			return map[string]any{"n": in.N + 1}, nil
		},
	}
	creds := local.NewCredentials()
	srv := httptest.NewServer(local.Invoke(tasks, creds))
	defer srv.Close()
	run := &workflow.Local{
		Runner:         repo("scripts", "sfn", "run.mjs"),
		Definitions:    map[string]string{"loop": repo("infra", "local", "testdata", "loop.asl.json")},
		Substitutions:  map[string]string{"StepArn": "arn:aws:lambda:us-east-1:000000000000:function:step"},
		LambdaEndpoint: srv.URL,
		AccessKeyID:    creds.AccessKeyID,
		SecretKey:      creds.SecretKey,
	}
	defer run.Close()
	out, err := run.Run(context.Background(), "loop", []byte(`{"n":0}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"n":3}` || calls.Load() != 4 {
		t.Fatalf("output %s after %d calls; want {\"n\":3} after 4 (one retried)", out, calls.Load())
	}
	calls.Store(1)
	out, err = run.Run(context.Background(), "loop", []byte(`{"n":0,"fail":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var caught struct {
		Error struct{ Error, Cause string } `json:"error"`
	}
	if json.Unmarshal(out, &caught); caught.Error.Error != workflow.ErrFailed || !strings.Contains(caught.Error.Cause, "cannot") {
		t.Fatalf("catch output %s", out)
	}
	if _, err := run.Run(context.Background(), "nope", nil); err == nil {
		t.Fatal("unknown machine ran")
	}
}

// Every definition passes asl-validator, as the issue asks.
func TestDefinitionsValidate(t *testing.T) {
	files, _ := filepath.Glob(repo("infra", "statemachines", "*.asl.json"))
	files = append(files, repo("infra", "local", "testdata", "loop.asl.json"))
	for _, f := range files {
		out, err := exec.Command(repo("scripts", "sfn", "node_modules", ".bin", "asl-validator"), "--no-arn-check", "--json-path", f).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}
