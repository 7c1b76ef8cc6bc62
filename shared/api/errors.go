package api

import (
	"errors"
	"net/http"

	"github.com/envhub/envhub/shared/errs"
)

// kinds maps each error kind (shared/errs) to its HTTP status and ret_code
// (gRPC codes, as OpenPitrix clients expect). Handlers never pick a status
// themselves; Status does.
var kinds = []struct {
	err     error
	status  int
	retCode int
}{
	{errs.ErrInvalid, http.StatusBadRequest, 3},
	{errs.ErrUnauthenticated, http.StatusUnauthorized, 16},
	{errs.ErrForbidden, http.StatusForbidden, 7},
	{errs.ErrNotFound, http.StatusNotFound, 5},
	{errs.ErrConflict, http.StatusConflict, 9},
	{errs.ErrMismatch, http.StatusUnprocessableEntity, 9},
	{errs.ErrUnavailable, http.StatusServiceUnavailable, 14},
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
