package envflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/envhub/envhub/shared/awserr"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/workflow"
)

// Errors get the names the definitions' Retry and Catch match on. The
// environment tests run every task through the state machines; this pins
// the naming for each kind of error.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("apply: %w", cluster.ErrUnreachable), workflow.ErrTransient},
		{errs.Invalid("manifest", "selector does not match"), workflow.ErrFailed},
		{errs.NotFound("environment", "dev"), workflow.ErrFailed},
		{errs.Forbidden("no"), workflow.ErrFailed},
		{fmt.Errorf("transact write: %w", awserr.Classify("DynamoDB", &smithy.GenericAPIError{Code: "ThrottlingException"})), workflow.ErrTransient},
		{fmt.Errorf("apply: %w", context.DeadlineExceeded), workflow.ErrTransient},
		{errors.New("ValidationException: duplicate keys"), workflow.ErrFailed}, // a bug: failed, and logged, not retried for minutes
		{&workflow.TaskError{Type: "Custom", Message: "m"}, "Custom"},
	} {
		var te *workflow.TaskError
		if !errors.As(classify(c.err), &te) || te.Type != c.want {
			t.Errorf("%v -> %v, want %s", c.err, classify(c.err), c.want)
		}
	}
	var te *workflow.TaskError
	if errors.As(classify(errors.New("secret inside")), &te) && strings.Contains(te.Message, "secret") {
		t.Error("a bug's error reached the operation record")
	}
	if classify(nil) != nil {
		t.Error("nil classified")
	}
	h := &Handler{}
	if _, err := h.Run(context.Background(), []byte("{")); err == nil {
		t.Error("bad input accepted")
	}
}

// Every task the definitions run has a sample event in events/envflow (for
// sam local invoke), and every sample is a task the definitions run.
func TestSampleEventsCoverTheDefinitions(t *testing.T) {
	root := filepath.Join("..", "..")
	used := map[string]bool{}
	defs, _ := filepath.Glob(filepath.Join(root, "infra", "statemachines", "*.asl.json"))
	if len(defs) != 3 {
		t.Fatalf("definitions %v", defs)
	}
	for _, f := range defs {
		var def struct {
			States map[string]struct {
				Parameters struct {
					Task string `json:"task"`
				} `json:"Parameters"`
			} `json:"States"`
		}
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &def) != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, s := range def.States {
			if s.Parameters.Task != "" {
				used[s.Parameters.Task] = true
			}
		}
	}
	samples, _ := filepath.Glob(filepath.Join(root, "events", "envflow", "*.json"))
	seen := map[string]bool{}
	for _, f := range samples {
		var in Input
		data, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(data, &in) != nil || in.Task+".json" != filepath.Base(f) {
			t.Errorf("%s: not a %s task input (%v)", f, strings.TrimSuffix(filepath.Base(f), ".json"), err)
		}
		if !used[in.Task] {
			t.Errorf("%s: no definition runs task %q", f, in.Task)
		}
		seen[in.Task] = true
	}
	for task := range used {
		if !seen[task] {
			t.Errorf("task %q has no sample event in events/envflow", task)
		}
	}
}
