// Package store keeps envhub's records in one DynamoDB table (single-table
// design). Every record has a version; every multi-item change is one
// TransactWriteItems; every list is a Query on a key or GSI, never a Scan.
package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// DB is the part of the DynamoDB client the store uses.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Index names and key attributes; template.yaml defines the same.
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSK    = "GSK" // shared GSI sort key: create time then id, so lists come newest first
	idxAll     = "G1"  // <kind>|<status>
	idxOwner   = "G2"  // <kind>|<status>|o|<owner>
	idxPublic  = "G3"  // <kind>|<status>|pub (public records only)
	idxParent  = "G4"  // <kind>|<status>|env|<runtime env id> (labels)
	skRecord   = "A"
	attrCount  = "n"
	attrNameLC = "name_lc"
)

// Store reads and writes records.
type Store struct {
	db    DB
	table string
	clock atomic.Pointer[func() time.Time] // nil: the real one
	ids   sync.Map                         // reservation scope -> record id (keys.go)
}

// New returns a store on the given table.
func New(db DB, table string) *Store {
	return &Store{db: classified{db}, table: table}
}

func (s *Store) now() time.Time {
	if c := s.clock.Load(); c != nil {
		return (*c)().UTC()
	}
	return time.Now().UTC()
}

// Clock replaces the store's clock (nil: the real one), so tests can reach
// past expiries such as an Idempotency-Key's 24 hours.
func (s *Store) Clock(now func() time.Time) {
	if now == nil {
		s.clock.Store(nil)
		return
	}
	s.clock.Store(&now)
}

// Table is the table's name.
func (s *Store) Table() string { return s.table }

// errVersion means another writer changed the record first; callers retry.
var errVersion = fmt.Errorf("%w: the record changed concurrently; retry", errs.ErrConflict)

const maxAttempts = 25

func recordKey(kind, id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: kind + "#" + id},
		attrSK: &types.AttributeValueMemberS{Value: skRecord},
	}
}

func kindOf(id string) string {
	kind, _, _ := strings.Cut(id, "-")
	return kind
}

// sortKey orders records newest first; fixed-width time keeps string order = time order.
func sortKey(r *model.Record) string {
	return r.CreateTime.UTC().Format("20060102T150405.000000000Z") + "|" + r.ID
}

// item marshals a record with its keys and index attributes.
func item(kind string, v any, r *model.Record, name string, parent string) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", r.ID, err)
	}
	for k, val := range recordKey(kind, r.ID) {
		m[k] = val
	}
	p := partitionsOf(kind, r.Status, r.Owner, r.Visibility)
	m[attrGSK] = &types.AttributeValueMemberS{Value: sortKey(r)}
	m[idxAll+"PK"] = &types.AttributeValueMemberS{Value: p.all}
	m[idxOwner+"PK"] = &types.AttributeValueMemberS{Value: p.owner}
	if p.public != "" {
		m[idxPublic+"PK"] = &types.AttributeValueMemberS{Value: p.public}
	}
	if parent != "" {
		m[idxParent+"PK"] = &types.AttributeValueMemberS{Value: parentPartition(kind, r.Status, parent)}
	}
	m[attrNameLC] = &types.AttributeValueMemberS{Value: strings.ToLower(name)}
	return m, nil
}

// parentPartition lists a kind's records under one parent record.
func parentPartition(kind, status, parent string) string {
	return kind + "|" + status + "|in|" + parent
}

// get reads one record with a strongly consistent read.
func (s *Store) get(ctx context.Context, kind, id string, out any) error {
	if it, ok := taken(ctx, kind, id); ok {
		return attributevalue.UnmarshalMap(it, out)
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: recordKey(kind, id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("get %s: %w", id, err)
	}
	if res.Item == nil {
		return errs.NotFound(kindName(kind), id)
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}

func kindName(kind string) string {
	switch kind {
	case model.KindRuntimeEnv:
		return "runtime_env"
	case model.KindCredential:
		return "runtime_env_credential"
	case model.KindLabel:
		return "runtime_env_label"
	}
	return kind
}

// batchGet reads records by id (consistent), in no particular order; missing ids are skipped.
func (s *Store) batchGet(ctx context.Context, kind string, ids []string) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, recordKey(kind, id))
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 100)
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for len(req) > 0 {
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			out = append(out, res.Responses[s.table]...)
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}
