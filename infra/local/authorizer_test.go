package local

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAuthorizer(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadAuthorizer(filepath.Join(dir, "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := LoadAuthorizer(filepath.Join(dir, "other.pem"))
	good, _ := a.Mint("alice", "admin", time.Hour)
	expired, _ := a.Mint("alice", "", -time.Hour)
	foreign, _ := other.Mint("alice", "", time.Hour)
	wrongAud, _ := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": Issuer, "aud": "x", "sub": "a", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(a.key)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": Issuer, "aud": Audience, "sub": "a", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, c := range map[string]struct {
		header string
		ok     bool
	}{
		"good": {"Bearer " + good, true}, "expired": {"Bearer " + expired, false}, "other key": {"Bearer " + foreign, false},
		"wrong audience": {"Bearer " + wrongAud, false}, "alg none": {"Bearer " + none, false},
		"no Bearer prefix (the HTTP API takes it too)": {good, true}, "basic": {"Basic " + good, false}, "empty": {"", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", c.header)
		claims, err := a.Verify(r)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", name, err)
		}
		if c.ok && (claims["sub"] != "alice" || claims["role"] != "admin") {
			t.Errorf("%s: claims %v", name, claims)
		}
	}
	// A restart reuses the key, so tokens from make token keep working.
	again, _ := LoadAuthorizer(filepath.Join(dir, "k.pem"))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	if _, err := again.Verify(r); err != nil {
		t.Fatal(err)
	}
}
