package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// Verifier checks bearer tokens as the HTTP API's JWT authorizer does (same
// issuer, audience, algorithms and expiry rules), for the entry points API
// Gateway does not guard with it: the WebSocket API's $connect and the logs
// Function URL.
type Verifier struct {
	Issuer   string
	Audience []string
	Keys     KeySource
}

// KeySource finds the public key a token was signed with.
type KeySource interface {
	Key(ctx context.Context, kid string) (any, error)
}

// Algorithms are the signatures accepted (the authorizer's asymmetric ones).
var Algorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// Leeway is the clock skew tolerated on exp/nbf/iat.
const Leeway = 5 * time.Second

// Verify checks token and returns its claims as API Gateway passes them to
// functions (every claim a string) and its expiry.
func (v *Verifier) Verify(ctx context.Context, token string) (map[string]string, time.Time, error) {
	if token == "" {
		return nil, time.Time{}, unauthenticated()
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(Algorithms), jwt.WithIssuer(v.Issuer),
		jwt.WithExpirationRequired(), jwt.WithLeeway(Leeway)}
	tok, err := jwt.Parse(token, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.Keys.Key(ctx, kid)
	}, opts...)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w (%v)", unauthenticated(), err)
	}
	mc := tok.Claims.(jwt.MapClaims)
	if !audienceOK(mc, v.Audience) {
		return nil, time.Time{}, fmt.Errorf("%w (audience not accepted)", unauthenticated())
	}
	exp, _ := mc.GetExpirationTime()
	return Flatten(mc), exp.Time, nil
}

// audienceOK: aud (or Cognito access tokens' client_id) is one of want.
func audienceOK(mc jwt.MapClaims, want []string) bool {
	aud, _ := mc.GetAudience()
	if cid, ok := mc["client_id"].(string); ok {
		aud = append(aud, cid)
	}
	for _, a := range aud {
		for _, w := range want {
			if a == w {
				return true
			}
		}
	}
	return false
}

// Flatten turns claims into the strings API Gateway passes: numbers as
// integers, arrays as "[a b c]".
func Flatten(mc jwt.MapClaims) map[string]string {
	claims := map[string]string{}
	for k, v := range mc {
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
	return claims
}

// Bearer is the token of an Authorization header: after "Bearer ", or the
// whole header (the HTTP API's JWT authorizer takes both).
func Bearer(header string) string {
	if raw, ok := strings.CutPrefix(header, "Bearer "); ok {
		return strings.TrimSpace(raw)
	}
	return strings.TrimSpace(header)
}

// StaticKey is a KeySource of one key (the local server's own).
type StaticKey struct{ Public any }

// Key returns the key whatever the kid.
func (s StaticKey) Key(context.Context, string) (any, error) { return s.Public, nil }

// JWKS is a KeySource reading the issuer's JSON Web Key Set over HTTP
// (from URL, or where the issuer's OpenID configuration says), cached; an
// unknown kid refetches it (a key rotation), at most every MinRefresh.
type JWKS struct {
	URL        string
	Issuer     string // for discovery when URL is empty
	HTTP       *http.Client
	MinRefresh time.Duration // default 1 minute

	mu      sync.Mutex
	set     jose.JSONWebKeySet
	fetched time.Time // last fetch tried (a failure too: not retried at once)
	good    time.Time // last fetch that succeeded
}

// MaxKeyAge is how long a key set is trusted before it is read again (a
// key the issuer withdrew stops being accepted by then); StaleKeyAge how
// long a cached key still serves while the issuer cannot be read.
const (
	MaxKeyAge   = time.Hour
	StaleKeyAge = 6 * time.Hour
)

var _ KeySource = (*JWKS)(nil)
var _ KeySource = StaticKey{}

// Key finds kid's public key: from the cached set while it is younger than
// MaxKeyAge; then read again (at most every MinRefresh), the cached key
// still serving while the issuer cannot be read, up to StaleKeyAge.
func (j *JWKS) Key(ctx context.Context, kid string) (any, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	wait := j.MinRefresh
	if wait == 0 {
		wait = time.Minute
	}
	cached := j.find(kid)
	if cached != nil && time.Since(j.good) < MaxKeyAge {
		return cached, nil
	}
	var err error
	if j.fetched.IsZero() || time.Since(j.fetched) >= wait {
		j.fetched = time.Now()
		// Not the caller's context: a client that goes away must not cut
		// the fetch every later request waits on.
		if err = j.fetch(context.WithoutCancel(ctx)); err == nil {
			if k := j.find(kid); k != nil {
				return k, nil
			}
			return nil, fmt.Errorf("no key %q in the issuer's key set", kid)
		}
	}
	if cached != nil && time.Since(j.good) < StaleKeyAge {
		return cached, nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no key %q in the issuer's key set", kid)
}

func (j *JWKS) get(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := j.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func (j *JWKS) find(kid string) any {
	for _, k := range j.set.Keys {
		if (kid == "" || k.KeyID == kid) && k.IsPublic() && k.Use != "enc" {
			return k.Key
		}
	}
	return nil
}

func (j *JWKS) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if j.URL == "" { // OpenID discovery: the issuer names its key set
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := j.get(ctx, strings.TrimSuffix(j.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return fmt.Errorf("discover the issuer's keys: %w", err)
		}
		if !strings.HasPrefix(doc.JWKSURI, "https://") {
			return fmt.Errorf("discover the issuer's keys: jwks_uri %q is not https", doc.JWKSURI)
		}
		j.URL = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := j.get(ctx, j.URL, &set); err != nil {
		return fmt.Errorf("read the issuer's keys: %w", err)
	}
	if len(set.Keys) == 0 {
		return errors.New("read the issuer's keys: the set is empty")
	}
	j.set, j.good = set, time.Now()
	return nil
}

type claimsKey struct{}

// WithClaims carries claims a function verified itself (a Function URL has
// no authorizer) to FromContext.
func WithClaims(ctx context.Context, claims map[string]string) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// FromClaims is the identity of verified claims.
func FromClaims(claims map[string]string) (Identity, error) {
	sub := strings.TrimSpace(claims["sub"])
	if sub == "" {
		return Identity{}, unauthenticated()
	}
	return Identity{Subject: sub, Admin: hasRole(claims[RoleClaim], AdminRole)}, nil
}
