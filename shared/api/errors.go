// Package api holds the one error model, response writing, request decoding
// and paging shared by every function's handlers.
package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error kinds. Lower layers wrap these with %w; handlers never pick a status
// themselves, Status does.
var (
	ErrInvalid         = errors.New("invalid request")
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrUnavailable     = errors.New("unavailable") // a system envhub depends on did not answer
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

// kinds maps each error kind to its HTTP status and ret_code (gRPC codes,
// as OpenPitrix clients expect).
var kinds = []struct {
	err     error
	status  int
	retCode int
}{
	{ErrInvalid, http.StatusBadRequest, 3},
	{ErrUnauthenticated, http.StatusUnauthorized, 16},
	{ErrForbidden, http.StatusForbidden, 7},
	{ErrNotFound, http.StatusNotFound, 5},
	{ErrConflict, http.StatusConflict, 9},
	{ErrUnavailable, http.StatusServiceUnavailable, 14},
}

// Status returns the HTTP status and ret_code for err; unknown errors are bugs (500).
func Status(err error) (status, retCode int) {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.status, k.retCode
		}
	}
	return http.StatusInternalServerError, 13
}
