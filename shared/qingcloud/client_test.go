package qingcloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"testing"
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
	cases := []struct {
		name     string
		endpoint string
		ak, sk   string
		want     int
		err      error
	}{
		{"good", s.URL + "/iaas/", "AK", "SK", 2, nil},
		{"default path", s.URL, "AK", "SK", 2, nil},
		{"wrong secret", s.URL + "/iaas/", "AK", "nope", 0, ErrRejected},
		{"unknown key", s.URL + "/iaas/", "XX", "SK", 0, ErrRejected},
		{"unreachable", closed.URL + "/iaas/", "AK", "SK", 0, ErrUnreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			zones, err := (&Client{}).ActiveZones(context.Background(), c.endpoint, c.ak, c.sk)
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if len(zones) != c.want {
				t.Fatalf("zones = %v", zones)
			}
		})
	}
	if s.Calls() != 4 {
		t.Fatalf("stand-in saw %d calls", s.Calls())
	}
}
