package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// identityOf runs claims through the same adapter Lambda uses, so the test
// reads identity exactly as handlers do.
func identityOf(t *testing.T, claims map[string]string) (Identity, error) {
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/", RequestContext: events.APIGatewayV2HTTPRequestContext{
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/"}}}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
	}
	r, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return FromRequest(r)
}

func TestFromRequest(t *testing.T) {
	cases := []struct {
		name   string
		claims map[string]string
		want   Identity
		err    error
	}{
		{"user", map[string]string{"sub": "alice"}, Identity{Subject: "alice"}, nil},
		{"admin", map[string]string{"sub": "root", "role": "admin"}, Identity{Subject: "root", Admin: true}, nil},
		{"admin in array claim", map[string]string{"sub": "root", "role": "[ops admin]"}, Identity{Subject: "root", Admin: true}, nil},
		{"not admin", map[string]string{"sub": "eve", "role": "administrator"}, Identity{Subject: "eve"}, nil},
		{"admin in a plain string", map[string]string{"sub": "eve", "role": "guest admin"}, Identity{Subject: "eve"}, nil},
		{"no sub", map[string]string{"role": "admin"}, Identity{}, errs.ErrUnauthenticated},
		{"no authorizer", nil, Identity{}, errs.ErrUnauthenticated},
	}
	for _, c := range cases {
		got, err := identityOf(t, c.claims)
		if got != c.want || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: %+v %v", c.name, got, err)
		}
	}
	if _, err := FromRequest(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("plain request: %v", err)
	}
}

// TestHasRole: the role claim matches exactly; a plain string is never split
// into several roles.
func TestHasRole(t *testing.T) {
	cases := []struct {
		claim string
		admin bool
	}{
		{"admin", true},
		{"[admin]", true},
		{"[user admin]", true},
		{"[admin user]", true},
		{"[a b admin c]", true},
		{"guest admin", false},
		{"admin guest", false},
		{"administrator", false},
		{"[administrator]", false},
		{"[guest]", false},
		{"[]", false},
		{"", false},
		{" admin", false},
		{"admin ", false},
		{"Admin", false},
		{"[guest admin", false},
		{"guest admin]", false},
		{"[guest,admin]", false},
	}
	for _, c := range cases {
		if got := hasRole(c.claim, AdminRole); got != c.admin {
			t.Errorf("hasRole(%q) = %v, want %v", c.claim, got, c.admin)
		}
		id, err := identityOf(t, map[string]string{"sub": "u", "role": c.claim})
		if err != nil || id.Admin != c.admin {
			t.Errorf("role %q: %+v %v", c.claim, id, err)
		}
	}
}

func TestRights(t *testing.T) {
	alice, admin := Identity{Subject: "alice"}, Identity{Subject: "root", Admin: true}
	if !alice.CanRead("bob", model.Public) || alice.CanRead("bob", model.Private) || !alice.CanRead("alice", model.Private) || !admin.CanRead("bob", model.Private) {
		t.Error("CanRead")
	}
	if alice.CanWrite("bob") || !alice.CanWrite("alice") || !admin.CanWrite("bob") {
		t.Error("CanWrite")
	}
	if o, err := alice.Owner(""); o != "alice" || err != nil {
		t.Error("default owner")
	}
	if _, err := alice.Owner("bob"); !errors.Is(err, errs.ErrForbidden) {
		t.Error("user sets owner")
	}
	if o, err := admin.Owner("bob"); o != "bob" || err != nil {
		t.Error("admin sets owner")
	}
}
