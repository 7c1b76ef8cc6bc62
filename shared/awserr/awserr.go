// Package awserr tells an AWS service's passing trouble (throttling, its
// own faults, the network) from the caller's mistakes and envhub's bugs:
// the first become errs.ErrUnavailable (503, retry), never a 500.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/envhub/envhub/shared/errs"
)

// Classify wraps err in errs.ErrUnavailable when the service was throttling,
// failing on its side, or not reached; other errors are returned as they are.
func Classify(service string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, errs.ErrUnavailable) {
		return err
	}
	var invalid smithy.InvalidParamsError
	var serialization *smithy.SerializationError
	if errors.As(err, &invalid) || errors.As(err, &serialization) {
		return err // envhub built a request the SDK refuses: a bug, not a pause
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if ae.ErrorFault() != smithy.FaultServer && !strings.Contains(code, "Throttl") && !strings.Contains(code, "LimitExceeded") &&
			code != "ProvisionedThroughputExceededException" && code != "ServiceUnavailable" && code != "InternalServerError" {
			return err
		}
	}
	return fmt.Errorf("%w: %s did not answer: %w", errs.ErrUnavailable, service, err)
}
