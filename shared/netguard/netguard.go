// Package netguard checks endpoint URLs before anything connects to them and
// re-checks every address actually dialled, so DNS cannot smuggle a request
// to link-local or cloud metadata addresses.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked marks an address envhub must never connect to.
var ErrBlocked = errors.New("address not allowed")

// Policy says which endpoints are acceptable. Loopback is for the local server only.
type Policy struct {
	AllowLoopback bool
}

var metadataHosts = map[string]bool{
	"metadata.google.internal":   true,
	"metadata":                   true,
	"instance-data":              true,
	"instance-data.ec2.internal": true,
}

var metadataAddrs = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, incl. AWS/GCP/Azure metadata
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba/QingCloud-style metadata
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("::/128"),
}

// CheckURL validates an endpoint: absolute https URL (http only for loopback
// when allowed), a host, no credentials in it, and no blocked address.
func (p Policy) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute URL such as https://host[:port][/path]")
	}
	if u.User != nil {
		return nil, errors.New("must not carry user info")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not carry a query or fragment")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return nil, errors.New("must name a host")
	}
	if port := u.Port(); port != "" {
		if n, err := net.LookupPort("tcp", port); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("has an invalid port")
		}
	}
	loopback := isLoopbackHost(host)
	switch u.Scheme {
	case "https":
	case "http":
		if !(loopback && p.AllowLoopback) {
			return nil, errors.New("must use https (http is allowed only for loopback on the local server)")
		}
	default:
		return nil, fmt.Errorf("scheme %q is not allowed: use https", u.Scheme)
	}
	if err := p.checkHost(host); err != nil {
		return nil, err
	}
	return u, nil
}

func (p Policy) checkHost(host string) error {
	if metadataHosts[strings.TrimSuffix(host, ".")] {
		return fmt.Errorf("%w: %s is a cloud metadata host", ErrBlocked, host)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return p.CheckAddr(addr)
	}
	if isLoopbackHost(host) && !p.AllowLoopback {
		return fmt.Errorf("%w: loopback host %s", ErrBlocked, host)
	}
	return nil
}

// CheckAddr refuses link-local, metadata, unspecified and (unless allowed) loopback addresses.
func (p Policy) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("") // a zoned address never matches a prefix
	for _, pre := range metadataAddrs {
		if pre.Contains(addr) {
			return fmt.Errorf("%w: %s is link-local or a metadata address", ErrBlocked, addr)
		}
	}
	if addr.IsLoopback() && !p.AllowLoopback {
		return fmt.Errorf("%w: loopback address %s", ErrBlocked, addr)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// DialContext dials like net.Dialer but refuses blocked addresses after DNS
// resolution, at connect time.
func (p Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlocked, address)
			}
			return p.CheckAddr(ap.Addr())
		},
	}
	return d.DialContext(ctx, network, address)
}

// HTTPClient returns a client whose every connection passes the policy and
// whose every request has a deadline.
func (p Policy) HTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would hide the real destination from the check
	t.DialContext = p.DialContext
	return &http.Client{Timeout: timeout, Transport: t}
}
