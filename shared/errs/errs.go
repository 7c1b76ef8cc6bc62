// Package errs holds envhub's error kinds. Every layer (model, store,
// cluster, render) wraps these with %w; only shared/api turns a kind into an
// HTTP status, so nothing below the handlers depends on HTTP.
package errs

import (
	"errors"
	"fmt"
)

// Error kinds.
var (
	ErrInvalid         = errors.New("invalid request")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrMismatch        = errors.New("unprocessable") // a request that contradicts an earlier one (e.g. a reused Idempotency-Key)
	ErrUnavailable     = errors.New("unavailable")   // a system envhub depends on did not answer
)

// Invalid reports bad input; the message names the field and the rule.
func Invalid(field, rule string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(rule, args...))
}

// NotFound reports a missing (or invisible) record.
func NotFound(kind, id string) error {
	return fmt.Errorf("%w: %s %q does not exist", ErrNotFound, kind, id)
}

// Forbidden reports a caller without the right to act.
func Forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}

// Conflict reports a state conflict the caller can resolve.
func Conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}

// Mismatch reports a request that contradicts an earlier one.
func Mismatch(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMismatch, fmt.Sprintf(format, args...))
}

// Version is the one optimistic-version check: a change that names the
// version it expects (want, optional) fails with 409 once the record moved on.
func Version(kind, id string, have int64, want *int64) error {
	if want != nil && *want != have {
		return Conflict("version: %s %s is at version %d, not %d", kind, id, have, *want)
	}
	return nil
}
