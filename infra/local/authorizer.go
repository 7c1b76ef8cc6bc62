package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/envhub/envhub/shared/auth"
)

// The local JWT authorizer's issuer and audience, as template.yaml's parameters are in AWS.
const (
	Issuer   = "envhub-local"
	Audience = "envhub"
)

// keyID names the local signing key in tokens and the key set.
const keyID = "envhub-local-1"

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
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = keyID
	return tok.SignedString(a.key)
}

// Verifier checks tokens of this authorizer as functions that verify
// tokens themselves do (the WebSocket $connect, the logs Function URL).
func (a *Authorizer) Verifier() *auth.Verifier {
	return &auth.Verifier{Issuer: Issuer, Audience: []string{Audience}, Keys: auth.StaticKey{Public: &a.key.PublicKey}}
}

// JWKSPath is where the local server publishes its key, as an issuer does.
const JWKSPath = "/.well-known/jwks.json"

// JWKS is the public key as a JSON Web Key Set.
func (a *Authorizer) JWKS() ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &a.key.PublicKey, KeyID: keyID, Algorithm: "ES256", Use: "sig"}}})
}

// Verify checks the Authorization header and returns the claims as API
// Gateway passes them to the function: every claim as a string.
func (a *Authorizer) Verify(r *http.Request) (map[string]string, error) {
	claims, _, err := a.Verifier().Verify(r.Context(), auth.Bearer(r.Header.Get("Authorization")))
	return claims, err
}
