package api

import (
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
)

// Page is a parsed paging request: page_size/page_number from the spec, or
// an opaque next_token that continues after the last item of a page.
type Page struct {
	Size   int
	Number int
	After  string // sort key of the last item already returned; empty for page_number paging
	query  uint64 // hash of the filters the token was issued for
}

// PageInfo is embedded in list responses.
type PageInfo struct {
	TotalCount  int    `json:"total_count"`
	TotalPages  int    `json:"total_pages"`
	PageSize    int    `json:"page_size"`
	CurrentPage int    `json:"current_page"`
	NextToken   string `json:"next_token,omitempty"`
}

// MaxSkip bounds offset paging: deeper pages would read every item before
// them, so they are reached with next_token, which costs one page each.
const MaxSkip = 10_000

type token struct {
	After string `json:"a"`
	Page  int    `json:"p"`
	Query uint64 `json:"q"`
}

// PageParams are the query parameter names every list route accepts.
var PageParams = []string{"page_size", "page_number", "next_token"}

// ParsePage reads page_size (default 10, max 100), page_number (default 1)
// and next_token. A token is bound to the rest of the query so it cannot be
// replayed against different filters.
func ParsePage(q Query) (Page, error) {
	p := Page{query: q.filterHash()}
	var err error
	if p.Size, err = q.Int("page_size", 10, 1, 100); err != nil {
		return p, err
	}
	if p.Number, err = q.Int("page_number", 1, 1, 1_000_000); err != nil {
		return p, err
	}
	if p.Skip() > MaxSkip {
		return p, Invalid("page_number", "reaches past item %d: page further with next_token", MaxSkip)
	}
	raw, err := q.String("next_token")
	if err != nil || raw == "" {
		return p, err
	}
	var t token
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || json.Unmarshal(data, &t) != nil || !sortKeyShaped(t.After) || t.Page < 2 || t.Page > maxTokenPage {
		return p, Invalid("next_token", "is not a token this API issued")
	}
	if t.Query != p.query {
		return p, Invalid("next_token", "was issued for different filters")
	}
	p.After, p.Number = t.After, t.Page
	return p, nil
}

// maxTokenPage bounds the page number a token may carry, far past any real list.
const maxTokenPage = 1 << 30

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
func (p Page) Info(total int, last string, more bool) PageInfo {
	info := PageInfo{TotalCount: total, PageSize: p.Size, CurrentPage: p.Number}
	info.TotalPages = (total + p.Size - 1) / p.Size
	if more && last != "" {
		data, _ := json.Marshal(token{After: last, Page: p.Number + 1, Query: p.query})
		info.NextToken = base64.RawURLEncoding.EncodeToString(data)
	}
	return info
}

// filterHash hashes every parameter but the paging ones, in a stable order.
func (q Query) filterHash() uint64 {
	keys := make([]string, 0, len(q.v))
	for k := range q.v {
		if !slices.Contains(PageParams, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		for _, s := range append([]string{k}, q.v[k]...) {
			h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
		}
	}
	return h.Sum64()
}
