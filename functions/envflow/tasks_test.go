package envflow

import (
	"context"
	"errors"
	"fmt"
	"testing"

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
		{fmt.Errorf("transact write: %w", errors.New("throttled")), workflow.ErrTransient},
		{&workflow.TaskError{Type: "Custom", Message: "m"}, "Custom"},
	} {
		var te *workflow.TaskError
		if !errors.As(classify(c.err), &te) || te.Type != c.want {
			t.Errorf("%v -> %v, want %s", c.err, classify(c.err), c.want)
		}
	}
	if classify(nil) != nil {
		t.Error("nil classified")
	}
	h := &Handler{}
	if _, err := h.Run(context.Background(), []byte("{")); err == nil {
		t.Error("bad input accepted")
	}
}
