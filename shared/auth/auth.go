// Package auth turns the HTTP API JWT authorizer's claims into the caller's
// identity and decides who may read and change a record.
package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// RoleClaim carries the caller's role; AdminRole in it makes the caller an admin.
const (
	RoleClaim = "role"
	AdminRole = "admin"
)

// Identity is the authenticated caller.
type Identity struct {
	Subject string
	Admin   bool
}

// FromRequest reads the identity the JWT authorizer verified. API Gateway
// (or the local server, acting as it) only forwards requests whose token it
// verified, so a request without claims is refused rather than trusted.
func FromRequest(r *http.Request) (Identity, error) {
	return FromContext(r.Context())
}

// FromContext is FromRequest for code that only has the context.
func FromContext(ctx context.Context) (Identity, error) {
	if claims, ok := ctx.Value(claimsKey{}).(map[string]string); ok {
		return FromClaims(claims)
	}
	rc, ok := core.GetAPIGatewayV2ContextFromContext(ctx)
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return Identity{}, unauthenticated()
	}
	return FromClaims(rc.Authorizer.JWT.Claims)
}

// hasRole matches role exactly: the claim is the role itself, or a JSON array
// claim holding it, which HTTP API passes as "[a b c]" (infra/local's Verify
// formats arrays the same way). A plain string is never split, so "guest admin"
// is not an admin, and nothing is trimmed: " admin" is not "admin" either (the
// issuer wrote something else; guessing it meant admin would widen rights).
// An array element that itself contains a space cannot be told apart in this
// format; the issuer, who controls the token, is trusted not to mint one.
func hasRole(claim, role string) bool {
	if claim == role {
		return true
	}
	inner, ok := strings.CutPrefix(claim, "[")
	if !ok {
		return false
	}
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return false
	}
	for _, r := range strings.Split(inner, " ") {
		if r == role {
			return true
		}
	}
	return false
}

func unauthenticated() error {
	return &authError{}
}

type authError struct{}

func (*authError) Error() string { return "unauthenticated: a valid bearer token is required" }
func (*authError) Unwrap() error { return errs.ErrUnauthenticated }

// CanRead tells whether id may see a record with this owner and visibility.
func (id Identity) CanRead(owner, visibility string) bool {
	return id.Admin || owner == id.Subject || visibility == model.Public
}

// CanWrite tells whether id may change a record with this owner.
func (id Identity) CanWrite(owner string) bool {
	return id.Admin || owner == id.Subject
}

// Owner resolves the owner a caller asks for: the caller by default; only an
// admin may name someone else.
func (id Identity) Owner(requested string) (string, error) {
	if requested == "" || requested == id.Subject {
		return id.Subject, nil
	}
	if !id.Admin {
		return "", errs.Forbidden("owner: only an admin may set an owner other than the caller")
	}
	return requested, nil
}

// Writable checks the caller may change r: records it cannot read, or that
// are deleted, are hidden (404 under kind's name); ones it can read but does
// not own are refused (403).
func (id Identity) Writable(kind string, r *model.Record) error {
	if !id.CanRead(r.Owner, r.Visibility) || r.Status == model.StatusDeleted {
		return errs.NotFound(kind, r.ID)
	}
	if !id.CanWrite(r.Owner) {
		return errs.Forbidden("%s %s belongs to another user", kind, r.ID)
	}
	return nil
}
