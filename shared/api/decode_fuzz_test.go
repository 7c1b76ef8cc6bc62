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

type fuzzBody struct {
	Name    string            `json:"name"`
	Opt     *string           `json:"opt"`
	Content map[string]string `json:"content"`
	Version *int64            `json:"version"`
}

// Any body decodes or is refused as invalid input; never anything else.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{"name":"a","content":{"k":"v"},"version":3}`, `{"content":{"k":1}}`, `[]`, `{"x":1}`, `{} {}`, ``, `{"version":1e99}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v fuzzBody
		err := DecodeBody(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("%q: %v", body, err)
		}
	})
}

// Any query parses or is refused as invalid input; pages stay in range and
// a token continues only the query it was issued for.
func FuzzParsePage(f *testing.F) {
	for _, s := range []string{"page_size=10&page_number=2", "page_size=0", "next_token=x", "a=1&a=2&page_size=100", "page_number=99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = raw
		q, err := ParseQuery(r, append([]string{"a", "b"}, PageParams...)...)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		p, err := ParsePage(q)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if p.Size < 1 || p.Size > 100 || p.Number < 1 || p.Skip() > page.MaxSkip {
			t.Fatalf("%q: page %+v", raw, p)
		}
		tok := p.Info(1000, "k|x", true).NextToken
		vals := url.Values{"next_token": {tok}}
		for k, v := range q.v {
			if k != "next_token" && k != "page_number" {
				vals[k] = v
			}
		}
		r.URL.RawQuery = vals.Encode()
		q2, err := ParseQuery(r, append([]string{"a", "b"}, PageParams...)...)
		if err != nil {
			t.Fatal(err)
		}
		if p2, err := ParsePage(q2); err != nil || p2.After != "k|x" || p2.Number != p.Number+1 {
			t.Fatalf("%q: token did not continue: %+v %v", raw, p2, err)
		}
	})
}
