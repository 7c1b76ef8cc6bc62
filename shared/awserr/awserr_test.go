package awserr

import (
	"context"
	"errors"
	"net"
	"reflect"
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
		{"bad parameters: a bug", smithy.InvalidParamsError{Context: "GetItemInput"}, false},
	} {
		got := Classify("DynamoDB", c.err)
		kept := reflect.DeepEqual(got, c.err) // passed on as it was
		if c.unavailable {
			kept = errors.Is(got, c.err) // wrapped, cause kept
		}
		if errors.Is(got, errs.ErrUnavailable) != c.unavailable || !kept {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	if Classify("x", nil) != nil {
		t.Error("nil classified")
	}
}
