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
	Message string `json:"message"`
	ZoneSet []struct {
		ZoneID string `json:"zone_id"`
		Status string `json:"status"`
	} `json:"zone_set"`
}

// ActiveZones calls DescribeZones at endpoint and returns the active zone ids.
func (c *Client) ActiveZones(ctx context.Context, endpoint, accessKeyID, secretAccessKey string) ([]string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
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
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: HTTP %d", ErrUnreachable, resp.StatusCode)
	}
	var zr zonesResponse
	if err := json.Unmarshal(body, &zr); err != nil {
		return nil, fmt.Errorf("%w: response is not QingCloud JSON: %w", ErrUnreachable, err)
	}
	if zr.RetCode != 0 {
		return nil, fmt.Errorf("%w: ret_code %d: %s", ErrRejected, zr.RetCode, zr.Message)
	}
	// Any JSON (e.g. "{}") decodes with ret_code 0; only a real answer lists zones.
	if zr.Action != "DescribeZonesResponse" {
		return nil, fmt.Errorf("%w: unexpected answer %q", ErrUnreachable, zr.Action)
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
