package api

import (
	"errors"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/envhub/envhub/shared/errs"
)

// Complements decode_fuzz_test.go (FuzzDecodeBody, FuzzParsePage): the path
// id check every {id} route runs, and integer query parameters with any bounds.

var idPrefixes = []string{"re-", "rec-", "rel-", "op-"}

// A path id is accepted exactly when it is the prefix and 1-32 lowercase
// letters or digits; anything else is refused as invalid input.
func FuzzPathID(f *testing.F) {
	for _, s := range []string{"re-abc123", "re-", "rec-" + "0123456789abcdef0123456789abcdef", "rel-ABC", "re-\u00e9", "re-a/b", "x", "", "re-a%20"} {
		f.Add(uint8(0), s)
	}
	f.Add(uint8(1), "rec-0123456789abcdef0123456789abcdefg")
	f.Fuzz(func(t *testing.T, which uint8, id string) {
		prefix := idPrefixes[int(which)%len(idPrefixes)]
		r := httptest.NewRequest("GET", "/", nil)
		r.SetPathValue("id", id)
		got, err := PathID(r, "id", prefix)
		if got != id {
			t.Fatalf("PathID(%q) returned %q", id, got)
		}
		want := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `[a-z0-9]{1,32}$`).MatchString(id)
		switch {
		case want && err != nil:
			t.Fatalf("%q (prefix %q) refused: %v", id, prefix, err)
		case !want && err == nil:
			t.Fatalf("%q (prefix %q) accepted", id, prefix)
		case err != nil && !errors.Is(err, errs.ErrInvalid):
			t.Fatalf("%q: %v does not wrap errs.ErrInvalid", id, err)
		}
	})
}

// Query.Int returns def when the parameter is absent or empty, a value in
// [lo, hi] when it parses, and otherwise an error wrapping errs.ErrInvalid.
func FuzzQueryInt(f *testing.F) {
	f.Add("n=5", 1, 1, 10)
	f.Add("n=0&n=1", 1, 0, 1)
	f.Add("n=-9223372036854775808", 0, -5, 5)
	f.Add("n=99999999999999999999", 10, 1, 100)
	f.Add("n=+7&m=1", 3, 1, 100)
	f.Add("n=%zz", 1, 1, 10)
	f.Add("n=", 2, 1, 1)
	f.Fuzz(func(t *testing.T, raw string, def, lo, hi int) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = raw
		q, err := ParseQuery(r, "n", "m")
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		n, err := q.Int("n", def, lo, hi)
		s, _ := q.String("n")
		switch {
		case err != nil:
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("%q: %v does not wrap errs.ErrInvalid", raw, err)
			}
		case s == "":
			if n != def {
				t.Fatalf("%q: absent gave %d, want default %d", raw, n, def)
			}
		case n < lo || n > hi:
			t.Fatalf("%q: %d outside [%d, %d]", raw, n, lo, hi)
		}
	})
}
