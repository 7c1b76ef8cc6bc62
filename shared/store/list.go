package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
)

// List is a list request, already validated by the handler.
type List struct {
	Caller     auth.Identity
	Statuses   []string // default: active
	Owners     []string
	Visibility string
	IDs        []string // restrict to these ids (read by key, not by index)
	Parent     string   // children of one record (labels of a runtime env)
	// ParentChecked: the caller's right to the parent was checked and
	// children have no rights of their own (service templates).
	ParentChecked bool
	Filter        Filter
	Page          page.Page
}

// Result is one page of items plus what the paging fields need.
type Result struct {
	Items []map[string]types.AttributeValue
	Total int
	Last  string // sort key of the page's last item
	More  bool
}

// list runs a list request: by ids when given, else by merging index partitions newest first.
func (s *Store) list(ctx context.Context, kind string, l List) (*Result, error) {
	if l.IDs != nil {
		return s.listByIDs(ctx, kind, l)
	}
	parts := plan(kind, l)
	need := l.Page.Skip() + l.Page.Size + 1
	type counted struct {
		n   int
		err error
	}
	streams := make([]*stream, len(parts))
	for i, p := range parts {
		streams[i] = &stream{s: s, p: p, filter: l.Filter, after: l.Page.After}
	}
	// Totals and the first page of every partition are read concurrently.
	total := make(chan counted, 1)
	go func() {
		n, err := s.total(ctx, parts, l.Filter)
		total <- counted{n, err}
	}()
	failures := make(chan error, len(streams))
	for _, st := range streams {
		go func() { failures <- st.fill(ctx, need) }()
	}
	var firstErr error
	for range streams {
		if err := <-failures; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	t := <-total
	if firstErr != nil {
		return nil, firstErr
	}
	if t.err != nil {
		return nil, t.err
	}
	res := &Result{Total: t.n}
	skip := l.Page.Skip()
	for {
		it, err := next(ctx, streams, need)
		if err != nil {
			return nil, err
		}
		if it == nil {
			break
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(res.Items) == l.Page.Size {
			res.More = true
			break
		}
		res.Items = append(res.Items, it)
	}
	if n := len(res.Items); n > 0 {
		res.Last = str(res.Items[n-1], attrGSK)
	}
	return res, nil
}

// next pops the newest head among the streams.
func next(ctx context.Context, streams []*stream, need int) (map[string]types.AttributeValue, error) {
	var best *stream
	for _, st := range streams {
		if len(st.buf) == 0 && !st.done {
			if err := st.fill(ctx, need); err != nil {
				return nil, err
			}
		}
		if len(st.buf) > 0 && (best == nil || str(st.buf[0], attrGSK) > str(best.buf[0], attrGSK)) {
			best = st
		}
	}
	if best == nil {
		return nil, nil
	}
	it := best.buf[0]
	best.buf = best.buf[1:]
	return it, nil
}

// stream reads one partition newest first, a page at a time.
type stream struct {
	s      *Store
	p      part
	filter Filter
	after  string
	start  map[string]types.AttributeValue
	buf    []map[string]types.AttributeValue
	done   bool
}

func (st *stream) fill(ctx context.Context, need int) error {
	for len(st.buf) < need && !st.done {
		in, err := st.s.queryInput(st.p, st.filter, st.after, false)
		if err != nil {
			return err
		}
		in.Limit = aws.Int32(int32(min(max(need-len(st.buf), 10), 1000)))
		in.ExclusiveStartKey = st.start
		out, err := st.s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", st.p.index, err)
		}
		st.buf = append(st.buf, out.Items...)
		st.start = out.LastEvaluatedKey
		st.done = st.start == nil
		if need <= len(st.buf) {
			break
		}
	}
	return nil
}

func (s *Store) queryInput(p part, f Filter, after string, count bool) (*dynamodb.QueryInput, error) {
	key := expression.Key(p.index + "PK").Equal(expression.Value(p.pk))
	if after != "" {
		key = key.And(expression.Key(attrGSK).LessThan(expression.Value(after)))
	}
	b := expression.NewBuilder().WithKeyCondition(key)
	if c := f.and(p.scope); c != nil {
		b = b.WithFilter(*c)
	}
	e, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(p.index + "-index"), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression: e.KeyCondition(), FilterExpression: e.Filter(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	}
	if count {
		in.Select = types.SelectCount
	}
	return in, nil
}

// total sums counters when the partitions carry no filter, else counts by query.
func (s *Store) total(ctx context.Context, parts []part, f Filter) (int, error) {
	var names []string
	for _, p := range parts {
		if p.counts == nil || !f.empty() {
			return s.countByQuery(ctx, parts, f)
		}
		for _, t := range p.counts {
			names = append(names, t.counter)
		}
	}
	got, err := s.counts(ctx, names)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range parts {
		for _, t := range p.counts {
			n += t.sign * got[t.counter]
		}
	}
	return max(n, 0), nil
}

func (s *Store) countByQuery(ctx context.Context, parts []part, f Filter) (int, error) {
	n := 0
	for _, p := range parts {
		in, err := s.queryInput(p, f, "", true)
		if err != nil {
			return 0, err
		}
		for {
			out, err := s.db.Query(ctx, in)
			if err != nil {
				return 0, fmt.Errorf("count %s: %w", p.index, err)
			}
			n += int(out.Count)
			if out.LastEvaluatedKey == nil {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return n, nil
}

// listByIDs reads the given ids by key and applies the same scope and filters in memory.
func (s *Store) listByIDs(ctx context.Context, kind string, l List) (*Result, error) {
	items, err := s.batchGet(ctx, kind, l.IDs)
	if err != nil {
		return nil, err
	}
	statuses := l.Statuses
	if len(statuses) == 0 {
		statuses = []string{model.StatusActive}
	}
	var keep []map[string]types.AttributeValue
	for _, it := range items {
		owner, vis := str(it, "owner"), str(it, "visibility")
		switch {
		case !contains(statuses, str(it, "status")),
			!l.Caller.CanRead(owner, vis),
			kind == model.KindCredential && !l.Caller.CanWrite(owner),
			len(l.Owners) > 0 && !contains(l.Owners, owner),
			l.Visibility != "" && vis != l.Visibility,
			l.Parent != "" && str(it, idxParent+"PK") != parentPartition(kind, str(it, "status"), l.Parent),
			!l.Filter.match(it):
			continue
		}
		keep = append(keep, it)
	}
	sort.Slice(keep, func(i, j int) bool { return str(keep[i], attrGSK) > str(keep[j], attrGSK) })
	res := &Result{Total: len(keep)}
	if l.Page.After != "" {
		i := sort.Search(len(keep), func(i int) bool { return str(keep[i], attrGSK) < l.Page.After })
		keep = keep[i:]
	}
	keep = keep[min(l.Page.Skip(), len(keep)):]
	res.More = len(keep) > l.Page.Size
	res.Items = keep[:min(l.Page.Size, len(keep))]
	if n := len(res.Items); n > 0 {
		res.Last = str(res.Items[n-1], attrGSK)
	}
	return res, nil
}

func str(it map[string]types.AttributeValue, attr string) string {
	if v, ok := it[attr].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
