package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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
