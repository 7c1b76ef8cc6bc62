package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// partitions are the GSI partitions a record is listed in, and counters the
// per-partition totals kept so list totals cost one read, not a count.
type partitions struct {
	all, owner, public string
	counters           []string
}

func partitionsOf(kind, status, owner, visibility string) partitions {
	p := partitions{all: kind + "|" + status, owner: kind + "|" + status + "|o|" + owner}
	p.counters = []string{p.all, p.owner}
	if visibility == model.Public {
		p.public = kind + "|" + status + "|pub"
		p.counters = append(p.counters, p.public, p.public+"|o|"+owner)
	}
	return p
}

// txn collects one TransactWriteItems: items, the error each item's failed
// condition means, and counter deltas folded into one update per counter.
type txn struct {
	items  []types.TransactWriteItem
	onFail []error
	deltas map[string]int
	order  []string
}

func (t *txn) add(it types.TransactWriteItem, onFail error) {
	t.items = append(t.items, it)
	t.onFail = append(t.onFail, onFail)
}

// count adds delta to every counter of a record's partitions.
func (t *txn) count(kind string, r *model.Record, delta int) {
	for _, c := range partitionsOf(kind, r.Status, r.Owner, r.Visibility).counters {
		t.bump(c, delta)
	}
}

// bump adds delta to one counter.
func (t *txn) bump(counter string, delta int) {
	if t.deltas == nil {
		t.deltas = map[string]int{}
	}
	if _, ok := t.deltas[counter]; !ok {
		t.order = append(t.order, counter)
	}
	t.deltas[counter] += delta
}

// usesOf counts the active environments on a runtime env: its credential
// cannot be detached (nor, then, the env deleted) while any remain.
func usesOf(runtimeEnvID string) string { return "uses|" + runtimeEnvID }

// unused refuses the transaction while environments use the runtime env
// (records from before the count was kept count as none).
func (t *txn) unused(table, runtimeEnvID string, inUse error) {
	t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(table), Key: counterKey(usesOf(runtimeEnvID)),
		ConditionExpression:       aws.String("attribute_not_exists(n) OR n <= :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
	}}, inUse)
}

// put writes a record: create when prev is 0 (must not exist), else replace
// only if the stored version is still prev.
func (t *txn) put(table string, it map[string]types.AttributeValue, prev int64, onConflict error) {
	p := &types.Put{TableName: aws.String(table), Item: it}
	if prev == 0 {
		p.ConditionExpression = aws.String("attribute_not_exists(PK)")
	} else {
		p.ConditionExpression = aws.String("version = :v")
		p.ExpressionAttributeValues = map[string]types.AttributeValue{":v": num(prev)}
	}
	t.add(types.TransactWriteItem{Put: p}, onConflict)
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func (s *Store) commit(ctx context.Context, t *txn) error {
	for _, c := range t.order {
		if d := t.deltas[c]; d != 0 {
			t.add(types.TransactWriteItem{Update: &types.Update{
				TableName:                 &s.table,
				Key:                       counterKey(c),
				UpdateExpression:          aws.String("ADD n :d"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(d))},
			}}, nil)
		}
	}
	if len(t.items) > 100 {
		return fmt.Errorf("transaction of %d items exceeds DynamoDB's 100", len(t.items))
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: t.items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for i, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" && i < len(t.onFail) && t.onFail[i] != nil {
				return t.onFail[i]
			}
		}
		for _, r := range canceled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict":
				return errVersion // another transaction held an item: same as a lost race, retry
			case "ThrottlingError", "ProvisionedThroughputExceeded":
				return fmt.Errorf("%w: DynamoDB is throttling: %v", errs.ErrUnavailable, err)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("transact write: %w", err)
	}
	return nil
}

func counterKey(partition string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "N#" + partition},
		attrSK: &types.AttributeValueMemberS{Value: skRecord},
	}
}

// counts reads counters by partition name; missing counters are zero.
func (s *Store) counts(ctx context.Context, names []string) (map[string]int, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			keys = append(keys, counterKey(n))
		}
	}
	out := map[string]int{}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
	for len(keys) > 0 && len(req) > 0 {
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("read counters: %w", err)
		}
		for _, it := range res.Responses[s.table] {
			pk := it[attrPK].(*types.AttributeValueMemberS).Value[2:]
			if n, ok := it[attrCount].(*types.AttributeValueMemberN); ok {
				out[pk], _ = strconv.Atoi(n.Value)
			}
		}
		req = res.UnprocessedKeys
	}
	return out, nil
}

// retry runs attempt until it stops reporting a concurrent change, backing
// off with full jitter so writers racing for one record spread out.
func retry(ctx context.Context, attempt func() error) error {
	var err error
	for i := 0; i < maxAttempts; i++ {
		if err = attempt(); !errors.Is(err, errVersion) {
			return err
		}
		backoff := time.Duration(rand.Int64N(int64(min(5*time.Millisecond<<i, 250*time.Millisecond))))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
	}
	return fmt.Errorf("gave up after %d concurrent changes: %w", maxAttempts, err)
}
