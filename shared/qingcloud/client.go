// Package qingcloud calls the QingCloud IaaS API (signature version 1) for
// the one action envhub needs: DescribeZones, to validate an endpoint, a
// zone and a credential together.
package qingcloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/envhub/envhub/shared/netguard"
)

var (
	// ErrRejected: the service answered with a non-zero ret_code (bad signature, unknown key...).
	ErrRejected = errors.New("qingcloud rejected the request")
	// ErrUnreachable: no usable answer (transport error, timeout, non-JSON or non-2xx).
	ErrUnreachable = errors.New("qingcloud endpoint unreachable")
)

// Client is a minimal QingCloud API client.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

type zonesResponse struct {
	Action  string `json:"action"`
	RetCode int    `json:"ret_code"`
	ZoneSet []struct {
		ZoneID string `json:"zone_id"`
		Status string `json:"status"`
	} `json:"zone_set"`
}

// callError is a failed call. Its message is written here and never quotes
// the endpoint's answer (body, message, action, certificate names): the
// endpoint is user-chosen and the message goes back to the user, so quoting
// would let them read any service they point it at. The cause stays
// reachable through errors.Is/As.
type callError struct {
	kind  error // ErrRejected or ErrUnreachable
	what  string
	cause error
}

func (e *callError) Error() string { return e.kind.Error() + ": " + e.what }
func (e *callError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func unreachable(what string, cause error) error {
	return &callError{kind: ErrUnreachable, what: what, cause: cause}
}

// ActiveZones calls DescribeZones at endpoint and returns the active zone ids.
func (c *Client) ActiveZones(ctx context.Context, endpoint, accessKeyID, secretAccessKey string) ([]string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, unreachable("the endpoint is not a URL", err)
	}
	if u.Path == "" {
		u.Path = "/iaas/"
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	params := url.Values{
		"action":            {"DescribeZones"},
		"access_key_id":     {accessKeyID},
		"signature_method":  {"HmacSHA256"},
		"signature_version": {"1"},
		"time_stamp":        {now().UTC().Format("2006-01-02T15:04:05Z")},
		"version":           {"1"},
	}
	sig := Sign(http.MethodGet, u.Path, params, secretAccessKey)
	u.RawQuery = canonical(params) + "&signature=" + escape(sig)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, unreachable("the request cannot be built", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unreachable(netguard.Failure(err), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unreachable("reading the answer failed: "+netguard.Failure(err), err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, unreachable(fmt.Sprintf("it answered HTTP status code %d", resp.StatusCode), nil)
	}
	var zr zonesResponse
	if err := json.Unmarshal(body, &zr); err != nil {
		return nil, unreachable(fmt.Sprintf("it answered HTTP status code %d, but not with QingCloud JSON", resp.StatusCode), err)
	}
	if zr.RetCode != 0 {
		// The code alone: the message is the endpoint's text.
		return nil, &callError{kind: ErrRejected, what: fmt.Sprintf("ret_code %d", zr.RetCode)}
	}
	// Any JSON (e.g. "{}") decodes with ret_code 0; only a real answer lists zones.
	if zr.Action != "DescribeZonesResponse" {
		return nil, unreachable("it did not answer DescribeZones like QingCloud", nil)
	}
	var zones []string
	for _, z := range zr.ZoneSet {
		if z.Status == "active" {
			zones = append(zones, z.ZoneID)
		}
	}
	return zones, nil
}

// Sign returns the base64 HMAC-SHA256 signature of a request, computed over
// "METHOD\nPATH\nCANONICAL_QUERY" as QingCloud's signature version 1 defines.
func Sign(method, path string, params url.Values, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(method + "\n" + path + "\n" + canonical(params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// canonical sorts parameters by key and percent-encodes keys and values
// (spaces as %20), leaving out the signature itself.
func canonical(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		for _, v := range params[k] {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
