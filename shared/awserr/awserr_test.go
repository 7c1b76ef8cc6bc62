package awserr

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/envhub/envhub/shared/errs"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Fault: smithy.FaultClient}, true},
		{"over capacity", &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Fault: smithy.FaultClient}, true},
		{"request limit", &smithy.GenericAPIError{Code: "RequestLimitExceeded"}, true},
		{"server fault", &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer}, true},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"bad request: a bug", &smithy.GenericAPIError{Code: "ValidationException", Fault: smithy.FaultClient}, false},
		{"canceled", context.Canceled, false},
	} {
		got := Classify("DynamoDB", c.err)
		if errors.Is(got, errs.ErrUnavailable) != c.unavailable || !errors.Is(got, c.err) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	if Classify("x", nil) != nil {
		t.Error("nil classified")
	}
}
