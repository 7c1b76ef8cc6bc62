package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// Idempotency is a request's Idempotency-Key, scoped to its caller, with a
// hash of what the request asked.
type Idempotency struct {
	Caller string
	Key    string
	Hash   string
}

// IdempotencyTTL is how long a key is remembered (DynamoDB TTL deletes it
// later; reads treat it as gone at once).
const IdempotencyTTL = 24 * time.Hour

// Replay reports a request already made with the same Idempotency-Key and
// body: its answer is the operation the first one started.
type Replay struct{ OperationID string }

func (r *Replay) Error() string { return "replay of the request that started " + r.OperationID }

var errIdempotent = errors.New("Idempotency-Key already used")

func idemKey(i *Idempotency) map[string]types.AttributeValue {
	// Length-prefixed, so no caller's key can land on another caller's.
	return reservationKey(fmt.Sprintf("idem#%d:%s#%s", len(i.Caller), i.Caller, i.Key))
}

// idempotent reserves st's key for its operation in t.
func (s *Store) idempotent(t *txn, st Start) {
	i := st.Idempotency
	if i == nil {
		return
	}
	now := s.now()
	it := idemKey(i)
	it["id"] = &types.AttributeValueMemberS{Value: st.Op.ID}
	it["hash"] = &types.AttributeValueMemberS{Value: i.Hash}
	it["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(IdempotencyTTL).Unix(), 10)}
	t.add(types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.table), Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR expires_at < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	}}, errIdempotent)
}

// Replayed returns the operation an earlier request with the same key
// started ("" when the key is new or expired); the same key with a
// different request is a 422.
func (s *Store) Replayed(ctx context.Context, i *Idempotency) (string, error) {
	if i == nil {
		return "", nil
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: idemKey(i), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read Idempotency-Key: %w", err)
	}
	if res.Item == nil {
		return "", nil
	}
	if n, ok := res.Item["expires_at"].(*types.AttributeValueMemberN); ok {
		if exp, _ := strconv.ParseInt(n.Value, 10, 64); exp < s.now().Unix() {
			return "", nil
		}
	}
	if str(res.Item, "hash") != i.Hash {
		return "", errs.Mismatch("Idempotency-Key %q was used with a different request", i.Key)
	}
	return str(res.Item, "id"), nil
}

// replayed turns a transaction refused by its Idempotency-Key into the
// replay (or the 422) it is.
func (s *Store) replayed(ctx context.Context, st Start, err error) error {
	if !errors.Is(err, errIdempotent) {
		return err
	}
	opID, err := s.Replayed(ctx, st.Idempotency)
	if err != nil {
		return err
	}
	if opID == "" {
		return errVersion // expired between the write and the read: the caller retries
	}
	return &Replay{OperationID: opID}
}

func replayOr(opID string, err error) error {
	if err != nil {
		return err
	}
	return &Replay{OperationID: opID}
}

// ForgetIdempotency drops the Idempotency-Key of an operation that never
// started (its execution could not start), so retrying the request starts
// afresh; a key since taken by another operation stays.
func (s *Store) ForgetIdempotency(ctx context.Context, op *model.Operation) error {
	if op.IdemKey == "" {
		return nil
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: idemKey(&Idempotency{Caller: op.IdemCaller, Key: op.IdemKey}),
		ConditionExpression:       aws.String("id = :op"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":op": &types.AttributeValueMemberS{Value: op.ID}}})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil
	}
	return err
}
