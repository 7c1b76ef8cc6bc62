// Package netguard checks endpoint URLs before anything connects to them and
// re-checks every address actually dialled, so DNS cannot smuggle a request
// to link-local or cloud metadata addresses.
package netguard

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
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

// IPv6 ranges that carry an IPv4 address a gateway or tunnel may deliver to,
// so the IPv4 rules must apply to what they embed.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052: IPv4 in the last 32 bits
	nat64LocalUse  = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215: operator-defined layout, so not decodable
	sixToFour      = netip.MustParsePrefix("2002::/16")      // RFC 3056: IPv4 in bits 16-47
	ipv4Compatible = netip.MustParsePrefix("::/96")          // deprecated ::a.b.c.d
	ipv6Loopback   = netip.IPv6Loopback()                    // ::1 lies in ::/96 but is IPv6 loopback
	ipv6Unspec     = netip.IPv6Unspecified()                 // :: lies in ::/96 and is blocked as itself
)

// CheckAddr refuses link-local, metadata, unspecified and (unless allowed)
// loopback addresses, including IPv4 ones reached through an IPv6 address
// that embeds them (IPv4-mapped, NAT64, 6to4, IPv4-compatible).
func (p Policy) CheckAddr(addr netip.Addr) error {
	addr = addr.Unmap().WithZone("") // a zoned address never matches a prefix
	if nat64LocalUse.Contains(addr) {
		// Where the IPv4 address sits under a local-use prefix is the
		// operator's choice, so it cannot be checked: refuse the prefix.
		return fmt.Errorf("%w: %s is in the local-use NAT64 prefix %s", ErrBlocked, addr, nat64LocalUse)
	}
	if v4, kind, ok := embeddedIPv4(addr); ok {
		if err := p.checkAddr(v4); err != nil {
			return fmt.Errorf("%w (embedded in %s address %s)", err, kind, addr)
		}
	}
	return p.checkAddr(addr)
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries, if it is
// in one of the ranges that translate or tunnel to it.
func embeddedIPv4(addr netip.Addr) (netip.Addr, string, bool) {
	if !addr.Is6() {
		return netip.Addr{}, "", false
	}
	b := addr.As16()
	switch {
	case nat64WellKnown.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	case ipv4Compatible.Contains(addr) && addr != ipv6Loopback && addr != ipv6Unspec:
		return netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible", true
	}
	return netip.Addr{}, "", false
}

// checkAddr applies the rules to addr as it is, without looking inside it.
func (p Policy) checkAddr(addr netip.Addr) error {
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

// Failure says why a connection or request to an endpoint failed, in
// envhub's own words: it never quotes the remote (certificate names, TLS
// alerts, response text), because endpoints are chosen by users and these
// words go back to them.
func Failure(err error) string {
	var (
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		netErr    net.Error
	)
	switch {
	case errors.Is(err, ErrBlocked):
		return "the address it connects to is not allowed (link-local, cloud metadata or loopback)"
	case errors.Is(err, context.Canceled):
		return "the request was canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "its host name does not resolve"
		}
		return "its host name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to its host"
	case errors.As(err, &unknownCA):
		return "TLS not verified: its certificate is not signed by the given CA"
	case errors.As(err, &hostErr):
		return "TLS not verified: its certificate is not valid for this host"
	case errors.As(err, &certErr):
		return "TLS not verified: its certificate is invalid (expired, not yet valid or not for servers)"
	case errors.As(err, &verifyErr):
		return "TLS not verified"
	case errors.As(err, &recordErr):
		return "it does not speak TLS"
	case errors.As(err, &alertErr):
		return "the TLS handshake failed"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed before an answer"
	}
	return "the connection failed"
}
