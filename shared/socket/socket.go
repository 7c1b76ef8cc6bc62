// Package socket talks to a WebSocket API's clients through the API Gateway
// management API (POST/DELETE @connections/{id}), signed with SigV4 by
// aws-sdk-go-v2's signer: the SDK's apigatewaymanagementapi module is not on
// our module proxy, and the API is two calls.
package socket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/envhub/envhub/shared/errs"
)

// MaxMessage is the most one message to a client may carry (API Gateway's
// WebSocket message limit is 128 KiB).
const MaxMessage = 128 << 10

// ErrGone is a connection that no longer exists (410 GoneException).
var ErrGone = errors.New("the WebSocket connection is gone")

// Service is SigV4's service name for the management API.
const Service = "execute-api"

// Connections posts to a WebSocket API stage's clients.
type Connections struct {
	// Endpoint is the stage's management endpoint:
	// https://{api-id}.execute-api.{region}.amazonaws.com/{stage}.
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
	Signer      *v4.Signer
}

// Post sends data to connection id.
func (c *Connections) Post(ctx context.Context, id string, data []byte) error {
	if len(data) > MaxMessage {
		return fmt.Errorf("message of %d bytes is more than %d", len(data), MaxMessage)
	}
	return c.call(ctx, http.MethodPost, id, data)
}

// Delete closes connection id (gone already is no error).
func (c *Connections) Delete(ctx context.Context, id string) error {
	if err := c.call(ctx, http.MethodDelete, id, nil); err != nil && !errors.Is(err, ErrGone) {
		return err
	}
	return nil
}

func (c *Connections) call(ctx context.Context, method, id string, body []byte) error {
	if c.Endpoint == "" {
		return errors.New("no WebSocket API endpoint configured (WEBSOCKET_ENDPOINT)")
	}
	u := strings.TrimSuffix(c.Endpoint, "/") + "/@connections/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials for the management API: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.Signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), Service, c.Region, time.Now()); err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%w: @connections: %v", errs.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == http.StatusGone:
		return ErrGone
	case resp.StatusCode >= 300:
		return fmt.Errorf("@connections %s: %s: %s", method, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
