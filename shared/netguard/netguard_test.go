package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	cases := []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://k8s.example.com:6443", false, true},
		{"https://k8s.example.com/path/", false, true},
		{"https://10.0.0.5:6443", false, true},
		{"https://[2001:db8::1]:6443", false, true},
		{"http://k8s.example.com", false, false},
		{"ftp://k8s.example.com", false, false},
		{"k8s.example.com", false, false},
		{"/relative", false, false},
		{"https://", false, false},
		{"https://user:pw@k8s.example.com", false, false},
		{"https://k8s.example.com?x=1", false, false},
		{"https://k8s.example.com:99999", false, false},
		{"https://169.254.169.254/latest/meta-data", true, false},
		{"https://169.254.10.1", true, false},
		{"https://[fe80::1%25eth0]", true, false},
		{"https://[fd00:ec2::254]", true, false},
		{"https://[::ffff:169.254.169.254]", true, false},
		{"https://100.100.100.200", true, false},
		{"https://metadata.google.internal", true, false},
		{"https://METADATA.GOOGLE.INTERNAL.", true, false},
		{"https://0.0.0.0", true, false},
		{"https://127.0.0.1:6443", false, false},
		{"https://localhost", false, false},
		{"http://127.0.0.1:8080", false, false},
		{"http://127.0.0.1:8080", true, true},
		{"https://[::1]:6443", true, true},
		{"http://localhost:6443", true, true},
		{"http://k8s.example.com", true, false},
	}
	for _, c := range cases {
		_, err := Policy{AllowLoopback: c.loopback}.CheckURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, loopback=%v) = %v, want ok=%v", c.url, c.loopback, err, c.ok)
		}
	}
}

// The dialer re-checks the resolved address, so a name that resolves to a
// blocked address is refused at connect time.
func TestDialRefusesBlockedAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err := Policy{}.HTTPClient(time.Second).Get("http://localhost:" + port)
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("loopback via a name: %v, want ErrBlocked", err)
	}
	if _, err := (Policy{}).DialContext(ctx, "tcp", "169.254.169.254:80"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("metadata address: %v", err)
	}
	resp, err := Policy{AllowLoopback: true}.HTTPClient(time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
	resp.Body.Close()
}

// IPv6 addresses that embed an IPv4 address are judged by it too: a NAT64
// gateway, 6to4 relay or IPv4-compatible route delivers to that IPv4 address.
func TestCheckAddrEmbeddedIPv4(t *testing.T) {
	cases := []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		// NAT64 well-known prefix 64:ff9b::/96
		{"64:ff9b::a9fe:a9fe", true, false}, // 169.254.169.254
		{"64:ff9b::169.254.169.254", false, false},
		{"64:ff9b::6464:64c8", true, false},       // 100.100.100.200
		{"64:ff9b::", true, false},                // 0.0.0.0
		{"64:ff9b::7f00:1", false, false},         // 127.0.0.1, loopback refused
		{"64:ff9b::7f00:1", true, true},           // ... allowed like 127.0.0.1 itself
		{"64:ff9b::808:808", false, true},         // 8.8.8.8
		{"64:ff9b::a00:5", false, true},           // 10.0.0.5, allowed like 10.0.0.5
		{"64:ff9b:0:0:1::a9fe:a9fe", false, true}, // outside the /96: not NAT64
		// local-use NAT64 64:ff9b:1::/48: refused whatever it embeds
		{"64:ff9b:1::808:808", true, false},
		{"64:ff9b:1:ffff::1", true, false},
		{"64:ff9b:2::1", false, true}, // past the /48
		// 6to4 2002::/16, IPv4 in bits 16-47
		{"2002:a9fe:a9fe::1", true, false},
		{"2002:a9fe:a9fe::", true, false},
		{"2002:6464:64c8::1", true, false},
		{"2002:7f00:1::1", false, false},
		{"2002:7f00:1::1", true, true},
		{"2002::1", true, false}, // 0.0.0.0
		{"2002:808:808::1", false, true},
		// IPv4-compatible ::a.b.c.d
		{"::a9fe:a9fe", true, false},
		{"::169.254.169.254", true, false},
		{"::7f00:1", false, false},
		{"::7f00:1", true, true},
		{"::808:808", false, true},
		{"::2", true, false}, // 0.0.0.2
		{"::", true, false},
		{"::1", false, false},
		{"::1", true, true},
		// IPv4-mapped, as before
		{"::ffff:169.254.169.254", true, false},
		{"::ffff:127.0.0.1", false, false},
		{"::ffff:127.0.0.1", true, true},
		{"::ffff:8.8.8.8", false, true},
		// plain IPv6
		{"2001:db8::a9fe:a9fe", false, true},
	}
	for _, c := range cases {
		err := Policy{AllowLoopback: c.loopback}.CheckAddr(netip.MustParseAddr(c.addr))
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBlocked)) {
			t.Errorf("CheckAddr(%s, loopback=%v) = %v, want ok=%v", c.addr, c.loopback, err, c.ok)
		}
	}
}

// The same addresses are refused as URL hosts and as dialled addresses.
func TestEmbeddedIPv4URLAndDial(t *testing.T) {
	for _, host := range []string{"64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:a9fe:a9fe::1", "::a9fe:a9fe"} {
		if _, err := (Policy{AllowLoopback: true}).CheckURL("https://[" + host + "]:6443"); !errors.Is(err, ErrBlocked) {
			t.Errorf("CheckURL(%s) = %v, want ErrBlocked", host, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := (Policy{AllowLoopback: true}).DialContext(ctx, "tcp", net.JoinHostPort(host, "443"))
		cancel()
		if errors.Is(err, syscall.EAFNOSUPPORT) {
			continue // no IPv6 sockets here: the dialler never reaches the check
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("dial %s = %v, want ErrBlocked", host, err)
		}
	}
	err := Policy{}.CheckAddr(netip.MustParseAddr("64:ff9b::a9fe:a9fe"))
	if err == nil || !strings.Contains(err.Error(), "169.254.169.254") || !strings.Contains(err.Error(), "NAT64") {
		t.Errorf("message should name the embedded address and why: %v", err)
	}
}
