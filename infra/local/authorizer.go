package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/envhub/envhub/shared/auth"
)

// The local JWT authorizer's issuer and audience, as template.yaml's parameters are in AWS.
const (
	Issuer   = "envhub-local"
	Audience = "envhub"
)

// Authorizer verifies bearer tokens as the HTTP API JWT authorizer does,
// with an ES256 key the local server creates and keeps in its state dir.
type Authorizer struct{ key *ecdsa.PrivateKey }

// LoadAuthorizer reads the signing key, creating it on first use.
func LoadAuthorizer(path string) (*Authorizer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		data = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Authorizer{key: key}, nil
}

// Mint signs a token for sub; role "admin" makes an admin.
func (a *Authorizer) Mint(sub, role string, ttl time.Duration) (string, error) {
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "sub": sub,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if role != "" {
		claims[auth.RoleClaim] = role
	}
	return jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(a.key)
}

// Verify checks the Authorization header and returns the claims as API
// Gateway passes them to the function: every claim as a string.
func (a *Authorizer) Verify(r *http.Request) (map[string]string, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, errors.New("no bearer token")
	}
	tok, err := jwt.Parse(strings.TrimSpace(raw), func(*jwt.Token) (any, error) { return &a.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(Issuer), jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return nil, err
	}
	claims := map[string]string{}
	for k, v := range tok.Claims.(jwt.MapClaims) {
		switch v := v.(type) {
		case string:
			claims[k] = v
		case float64:
			claims[k] = fmt.Sprint(int64(v))
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			claims[k] = "[" + strings.Join(parts, " ") + "]"
		default:
			claims[k] = fmt.Sprint(v)
		}
	}
	return claims, nil
}
