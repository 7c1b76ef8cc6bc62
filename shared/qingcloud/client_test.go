package qingcloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSignKnownAnswer(t *testing.T) {
	params := url.Values{"zone": {"pek3a"}, "action": {"RunInstances"}, "name": {"a b/c"}}
	mac := hmac.New(sha256.New, []byte("SECRET"))
	mac.Write([]byte("GET\n/iaas/\naction=RunInstances&name=a%20b%2Fc&zone=pek3a"))
	if got, want := Sign("GET", "/iaas/", params, "SECRET"), base64.StdEncoding.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestActiveZones(t *testing.T) {
	s := NewStandIn("AK", "SK", map[string]string{"pek3a": "active", "gd2": "active", "sh1a": "faulty"})
	defer s.Close()
	closed := NewStandIn("AK", "SK", nil)
	closed.Close()
	// Servers that answer, but not as QingCloud does.
	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/502/":
			http.Error(w, `{"ret_code":0}`, http.StatusBadGateway)
		case "/html/":
			_, _ = w.Write([]byte("<html>login</html>"))
		default:
			_, _ = w.Write([]byte("{}"))
		}
	}))
	defer odd.Close()
	active := []string{"gd2", "pek3a"} // the stand-in lists zones sorted; sh1a is faulty
	skewed := func() time.Time { return time.Now().Add(-time.Hour) }
	cases := []struct {
		name     string
		endpoint string
		ak, sk   string
		want     []string
		err      error
		now      func() time.Time
	}{
		{"good", s.URL + "/iaas/", "AK", "SK", active, nil, nil},
		{"default path", s.URL, "AK", "SK", active, nil, nil},
		{"wrong secret", s.URL + "/iaas/", "AK", "nope", nil, ErrRejected, nil},
		{"unknown key", s.URL + "/iaas/", "XX", "SK", nil, ErrRejected, nil},
		{"stale time_stamp", s.URL + "/iaas/", "AK", "SK", nil, ErrRejected, skewed},
		{"unreachable", closed.URL + "/iaas/", "AK", "SK", nil, ErrUnreachable, nil},
		{"non-2xx", odd.URL + "/502/", "AK", "SK", nil, ErrUnreachable, nil},
		{"non-JSON", odd.URL + "/html/", "AK", "SK", nil, ErrUnreachable, nil},
		{"foreign JSON", odd.URL + "/iaas/", "AK", "SK", nil, ErrUnreachable, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			zones, err := (&Client{Now: c.now}).ActiveZones(context.Background(), c.endpoint, c.ak, c.sk)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if !slices.Equal(zones, c.want) {
				t.Fatalf("zones = %v", zones)
			}
		})
	}
	if s.Calls() != 5 {
		t.Fatalf("stand-in saw %d calls", s.Calls())
	}
}

func TestUnreachableKeepsCause(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := NewStandIn("AK", "SK", nil)
	defer s.Close()
	_, err := (&Client{}).ActiveZones(ctx, s.URL, "AK", "SK")
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrUnreachable wrapping context.Canceled", err)
	}
}

// Errors never quote the endpoint's answer (its message, action or body):
// the endpoint is user-chosen and errors reach the user.
func TestErrorsQuoteNothing(t *testing.T) {
	const marker = "SECRET-MARKER-91c2"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rejected/":
			_, _ = w.Write([]byte(`{"ret_code":1100,"message":"` + marker + `"}`))
		case "/action/":
			_, _ = w.Write([]byte(`{"action":"` + marker + `"}`))
		case "/500/":
			http.Error(w, "<html>"+marker+"</html>", http.StatusInternalServerError)
		case "/typed/":
			_, _ = w.Write([]byte(`{"ret_code":"` + marker + `"}`))
		default:
			_, _ = w.Write([]byte(marker))
		}
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate is not trusted
	defer tlsSrv.Close()
	cases := []struct {
		endpoint string
		err      error
		says     string
	}{
		{srv.URL + "/rejected/", ErrRejected, "ret_code 1100"},
		{srv.URL + "/action/", ErrUnreachable, "did not answer DescribeZones"},
		{srv.URL + "/500/", ErrUnreachable, "HTTP status code 500"},
		{srv.URL + "/typed/", ErrUnreachable, "not with QingCloud JSON"},
		{srv.URL + "/text/", ErrUnreachable, "not with QingCloud JSON"},
		{tlsSrv.URL + "/iaas/", ErrUnreachable, "TLS not verified"},
	}
	for _, c := range cases {
		_, err := (&Client{}).ActiveZones(context.Background(), c.endpoint, "AK", "SK")
		if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.says) || strings.Contains(err.Error(), marker) {
			t.Errorf("%s: err = %v, want %v saying %q and not quoting the answer", c.endpoint, err, c.err, c.says)
		}
	}
}
