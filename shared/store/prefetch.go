package store

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/model"
)

// Ref names a record: its kind and id.
type Ref struct{ Kind, ID string }

type prefetchKey struct{}

// fetched are the records one request read ahead, by partition key; each
// is taken once.
type fetched struct{ items sync.Map }

// Prefetch reads, in one BatchGetItem, the project and environment the keys
// name (when this process resolved those keys before) and the records refs
// name, and returns ctx carrying them: the reads of them that follow in
// that request (ProjectEnvironment, GetRuntimeEnv, GetCredential,
// RuntimeEnvCredential) take them from ctx instead of a round trip each.
// Each is taken once and nothing outlives the request: reads stay as fresh
// as the request. A failed prefetch leaves ctx as it was.
func (s *Store) Prefetch(ctx context.Context, projectKey, envKey string, refs ...Ref) context.Context {
	if pid, ok := s.ids.Load(projectScope(projectKey)); ok {
		refs = append(refs, Ref{model.KindProject, pid.(string)})
		if eid, ok := s.ids.Load(envScope(pid.(string), envKey)); ok {
			refs = append(refs, Ref{model.KindEnvironment, eid.(string)})
		}
	}
	var keys []map[string]types.AttributeValue
	seen := map[Ref]bool{}
	for _, r := range refs {
		if r.ID != "" && !seen[r] {
			seen[r] = true
			keys = append(keys, recordKey(r.Kind, r.ID))
		}
	}
	if len(keys) == 0 {
		return ctx
	}
	res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		return ctx
	}
	f := &fetched{}
	for _, it := range res.Responses[s.table] {
		f.items.Store(str(it, attrPK), it)
	}
	return context.WithValue(ctx, prefetchKey{}, f)
}

// taken takes a prefetched record from ctx, if it holds it.
func taken(ctx context.Context, kind, id string) (map[string]types.AttributeValue, bool) {
	f, ok := ctx.Value(prefetchKey{}).(*fetched)
	if !ok {
		return nil, false
	}
	it, ok := f.items.LoadAndDelete(kind + "#" + id)
	if !ok {
		return nil, false
	}
	return it.(map[string]types.AttributeValue), true
}

// takenPair takes two prefetched records, or neither.
func takenPair(ctx context.Context, a, b Ref) (map[string]types.AttributeValue, map[string]types.AttributeValue, bool) {
	f, ok := ctx.Value(prefetchKey{}).(*fetched)
	if !ok {
		return nil, nil, false
	}
	x, okx := f.items.Load(a.Kind + "#" + a.ID)
	y, oky := f.items.Load(b.Kind + "#" + b.ID)
	if !okx || !oky {
		return nil, nil, false
	}
	f.items.Delete(a.Kind + "#" + a.ID)
	f.items.Delete(b.Kind + "#" + b.ID)
	return x.(map[string]types.AttributeValue), y.(map[string]types.AttributeValue), true
}
