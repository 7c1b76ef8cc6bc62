package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
)

// The integration tests meet each of these from a real apiserver; this
// table pins the mapping for every status, including rare ones.
func TestErrMapping(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	cases := []struct {
		err    error
		want   error
		status int
	}{
		{apierrors.NewNotFound(gr, "x"), errs.ErrNotFound, 404},
		{apierrors.NewUnauthorized("bad token"), errs.ErrForbidden, 403},
		{apierrors.NewForbidden(gr, "x", errors.New("rbac")), errs.ErrForbidden, 403},
		{apierrors.NewConflict(gr, "x", errors.New("field owned by kubectl")), errs.ErrConflict, 409},
		{apierrors.NewAlreadyExists(gr, "x"), errs.ErrConflict, 409},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "Bad_Name", field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), "Bad_Name", "must be a DNS subdomain")}), errs.ErrInvalid, 400},
		{apierrors.NewBadRequest("nope"), errs.ErrInvalid, 400},
		{apierrors.NewInternalError(errors.New("etcd down")), ErrUnreachable, 503},
		{apierrors.NewServiceUnavailable("later"), ErrUnreachable, 503},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), ErrUnreachable, 503},
	}
	for _, c := range cases {
		got := Err(c.err)
		if !errors.Is(got, c.want) {
			t.Errorf("%v -> %v, want %v", c.err, got, c.want)
		}
		if status, _ := api.Status(got); status != c.status {
			t.Errorf("%v -> status %d, want %d", c.err, status, c.status)
		}
	}
	if Err(nil) != nil {
		t.Error("nil error mapped")
	}
	invalid := Err(cases[5].err).Error()
	if !strings.Contains(invalid, "metadata.name") || !strings.Contains(invalid, "DNS subdomain") {
		t.Errorf("field message lost: %s", invalid)
	}
}

// An answer that is not a Kubernetes Status (an endpoint that is not, or no
// longer, an apiserver) is reported by its HTTP code only: its body never
// reaches the caller.
func TestErrQuotesNoForeignBody(t *testing.T) {
	for _, code := range []int{404, 403, 500, 502} {
		raw := apierrors.NewGenericServerResponse(code, "GET", schema.GroupResource{}, "", "<html>SECRET-MARKER</html>", 0, true)
		got := Err(raw).Error()
		if strings.Contains(got, "SECRET-MARKER") || !strings.Contains(got, fmt.Sprint(code)) {
			t.Errorf("%d: %s", code, got)
		}
	}
}
