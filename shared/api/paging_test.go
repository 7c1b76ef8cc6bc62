package api

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/page"
)

func parsePage(t *testing.T, v url.Values) (page.Page, error) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.RawQuery = v.Encode()
	q, err := ParseQuery(r, append([]string{"owner"}, PageParams...)...)
	if err != nil {
		t.Fatalf("query %v: %v", v, err)
	}
	return ParsePage(q)
}

// forged encodes a token as Info does, with any content.
func forged(after string, n int, filters url.Values, t *testing.T) string {
	p, err := parsePage(t, filters)
	if err != nil {
		t.Fatal(err)
	}
	return page.Token(after, n, p.Query())
}

func TestParsePage(t *testing.T) {
	alice := url.Values{"owner": {"alice"}}
	issued := func() string {
		p, err := parsePage(t, alice)
		if err != nil {
			t.Fatal(err)
		}
		return p.Info(30, "20261123T000000.000000000Z|re-abc", true).NextToken
	}()
	with := func(kv ...string) url.Values {
		v := url.Values{"owner": {"alice"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	cases := []struct {
		name  string
		q     url.Values
		want  page.Page // compared on Size, Number, After when valid
		field string
	}{
		{"defaults", alice, page.Page{Size: 10, Number: 1}, ""},
		{"issued token", with("next_token", issued), page.Page{Size: 10, Number: 2, After: "20261123T000000.000000000Z|re-abc"}, ""},
		{"token for other filters", url.Values{"owner": {"bob"}, "next_token": {issued}}, page.Page{}, "next_token"},
		{"not base64", with("next_token", "!!"), page.Page{}, "next_token"},
		{"page 1 token", with("next_token", forged("k", 1, alice, t)), page.Page{}, "next_token"},
		{"huge page token", with("next_token", forged("k", 1<<40, alice, t)), page.Page{}, "next_token"},
		{"empty key", with("next_token", forged("", 2, alice, t)), page.Page{}, "next_token"},
		{"key over 128 bytes", with("next_token", forged(strings.Repeat("z", 1500), 2, alice, t)), page.Page{}, "next_token"},
		{"key not ASCII", with("next_token", forged("\xff\x00", 2, alice, t)), page.Page{}, "next_token"},
		{"key with space", with("next_token", forged("a b", 2, alice, t)), page.Page{}, "next_token"},
		{"page_size 0", with("page_size", "0"), page.Page{}, "page_size"},
		{"page_size 101", with("page_size", "101"), page.Page{}, "page_size"},
		{"deep page_number", with("page_size", "100", "page_number", "102"), page.Page{}, "page_number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parsePage(t, c.q)
			if c.field != "" {
				if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
					t.Fatalf("err = %v, want invalid naming %s", err, c.field)
				}
				return
			}
			if err != nil || got.Size != c.want.Size || got.Number != c.want.Number || got.After != c.want.After {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}
