package api

import (
	"hash/fnv"
	"slices"
	"sort"
	"strconv"

	"github.com/envhub/envhub/shared/page"
)

// PageParams are the query parameter names every list route accepts.
var PageParams = []string{"page_size", "page_number", "next_token"}

// ParsePage reads page_size (default 10, max 100), page_number (default 1)
// and next_token. A token is bound to the rest of the query so it cannot be
// replayed against different filters.
func ParsePage(q Query) (page.Page, error) { return ParsePageSized(q, 10) }

// ParsePageSized is ParsePage for a route whose page_size defaults to
// size; the skip bound is checked at the size the list will run with.
func ParsePageSized(q Query, size int) (page.Page, error) {
	size, err := q.Int("page_size", size, 1, 100)
	if err != nil {
		return page.Page{}, err
	}
	number, err := q.Int("page_number", 1, 1, 1_000_000)
	if err != nil {
		return page.Page{}, err
	}
	p, err := page.New(size, number, q.filterHash())
	if err != nil {
		return p, err
	}
	raw, err := q.String("next_token")
	if err != nil || raw == "" {
		return p, err
	}
	return p, p.Resume(raw)
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
