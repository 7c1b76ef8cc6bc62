// Package page is list paging: page_size/page_number as the specs have it,
// and an opaque next_token that continues after the last item of a page,
// bound to the filters it was issued for.
package page

import (
	"encoding/base64"
	"encoding/json"

	"github.com/envhub/envhub/shared/errs"
)

// Page is a parsed paging request.
type Page struct {
	Size   int
	Number int
	After  string // sort key of the last item already returned; empty for page_number paging
	query  uint64 // hash of the filters the request carries
}

// Info is embedded in list responses.
type Info struct {
	TotalCount  int    `json:"total_count"`
	TotalPages  int    `json:"total_pages"`
	PageSize    int    `json:"page_size"`
	CurrentPage int    `json:"current_page"`
	NextToken   string `json:"next_token,omitempty"`
}

// MaxSkip bounds offset paging: deeper pages would read every item before
// them, so they are reached with next_token, which costs one page each.
const MaxSkip = 10_000

// maxTokenPage bounds the page number a token may carry, far past any real list.
const maxTokenPage = 1 << 30

type token struct {
	After string `json:"a"`
	Page  int    `json:"p"`
	Query uint64 `json:"q"`
}

// New is page number of size items for a request whose filters hash to query.
func New(size, number int, query uint64) (Page, error) {
	p := Page{Size: size, Number: number, query: query}
	if p.Skip() > MaxSkip {
		return p, errs.Invalid("page_number", "reaches past item %d: page further with next_token", MaxSkip)
	}
	return p, nil
}

// Query is the filter hash the page was made for.
func (p Page) Query() uint64 { return p.query }

// Resume continues after a next_token this API issued for the same filters.
func (p *Page) Resume(raw string) error {
	var t token
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(data, &t) != nil || !sortKeyShaped(t.After) || t.Page < 2 || t.Page > maxTokenPage {
		return errs.Invalid("next_token", "is not a token this API issued")
	}
	if t.Query != p.query {
		return errs.Invalid("next_token", "was issued for different filters")
	}
	p.After, p.Number = t.After, t.Page
	return nil
}

// Token encodes a next_token (Info issues them; tests forge them).
func Token(after string, number int, query uint64) string {
	data, _ := json.Marshal(token{After: after, Page: number, Query: query})
	return base64.RawURLEncoding.EncodeToString(data)
}

// sortKeyShaped accepts what the store issues as continuation keys (create
// time and id: short printable ASCII), so a forged key is refused here rather
// than by DynamoDB's key rules (1024 bytes, valid UTF-8) as a server error.
func sortKeyShaped(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Skip is how many matching items precede this page when paging by number.
func (p Page) Skip() int {
	if p.After != "" {
		return 0
	}
	return (p.Number - 1) * p.Size
}

// Info builds the response paging fields; last is the sort key of the page's
// last item and more tells whether items follow it.
func (p Page) Info(total int, last string, more bool) Info {
	info := Info{TotalCount: total, PageSize: p.Size, CurrentPage: p.Number}
	info.TotalPages = (total + p.Size - 1) / p.Size
	if more && last != "" {
		info.NextToken = Token(last, p.Number+1, p.query)
	}
	return info
}
