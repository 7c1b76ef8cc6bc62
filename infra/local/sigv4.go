package local

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are the access key the local server accepts SigV4
// signatures from, as AWS accepts a caller's IAM credentials: the local
// state machine engine and `make maintain` sign with them.
type Credentials struct {
	AccessKeyID string
	SecretKey   string
}

// LoadCredentials reads the local server's credentials, creating them on first use.
func LoadCredentials(path string) (Credentials, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		c := NewCredentials()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return c, err
		}
		return c, os.WriteFile(path, []byte(c.AccessKeyID+":"+c.SecretKey+"\n"), 0o600)
	}
	if err != nil {
		return Credentials{}, err
	}
	id, secret, ok := strings.Cut(strings.TrimSpace(string(data)), ":")
	if !ok || id == "" || secret == "" {
		return Credentials{}, fmt.Errorf("%s: not ACCESS_KEY_ID:SECRET", path)
	}
	return Credentials{id, secret}, nil
}

// NewCredentials makes random credentials.
func NewCredentials() Credentials {
	b := make([]byte, 28)
	_, _ = rand.Read(b)
	return Credentials{AccessKeyID: "ENVHUBLOCAL" + strings.ToUpper(hex.EncodeToString(b[:4])), SecretKey: hex.EncodeToString(b[4:])}
}

// maxSkew is how far a signature's time may be from now, as in AWS.
const maxSkew = 5 * time.Minute

// Verify checks a request's SigV4 signature for service with aws-sdk-go-v2's
// signer: the request is rebuilt from the headers the caller signed and
// signed again with the secret; the signatures must match.
func (c Credentials) Verify(r *http.Request, body []byte, service string) error {
	auth := r.Header.Get("Authorization")
	fields, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("missing AWS4-HMAC-SHA256 authorization")
	}
	parts := map[string]string{}
	for _, f := range strings.Split(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[0] != c.AccessKeyID || scope[3] != service || scope[4] != "aws4_request" {
		return errors.New("unknown access key or credential scope")
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scope[1] {
		return errors.New("missing or inconsistent X-Amz-Date")
	}
	if d := time.Since(at); d > maxSkew || d < -maxSkew {
		return errors.New("signature expired or from the future")
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return errors.New("body does not match X-Amz-Content-Sha256")
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	again.Header = http.Header{}
	for _, name := range strings.Split(parts["SignedHeaders"], ";") {
		switch name {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			if vs := r.Header.Values(name); len(vs) > 0 {
				again.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretKey},
		again, payload, service, scope[2], at)
	if err != nil {
		return err
	}
	_, want, _ := strings.Cut(again.Header.Get("Authorization"), "Signature=")
	if !hmac.Equal([]byte(want), []byte(parts["Signature"])) {
		return errors.New("signature does not match")
	}
	return nil
}

// Sign signs a request to the local server (for `make maintain`).
func (c Credentials) Sign(r *http.Request, body []byte, service string) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretKey},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now().UTC())
}
