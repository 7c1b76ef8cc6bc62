package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/model"
)

// The applied set of an environment: one item per object it may have in
// its cluster (PK AP#<environment id>, SK group|kind|name), written before
// the object is applied and deleted after it is, so it never outgrows an
// item and survives a crash between the two.

func appliedKey(envID string, a model.Applied) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "AP#" + envID},
		attrSK: &types.AttributeValueMemberS{Value: a.Key()},
	}
}

// RecordApplied adds objects to an environment's applied set.
func (s *Store) RecordApplied(ctx context.Context, envID string, objs []model.Applied) error {
	reqs := make([]types.WriteRequest, 0, len(objs))
	for _, a := range objs {
		it, err := attributevalue.MarshalMap(a)
		if err != nil {
			return err
		}
		for k, v := range appliedKey(envID, a) {
			it[k] = v
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	return s.batchWrite(ctx, reqs)
}

// ForgetApplied removes objects from an environment's applied set.
func (s *Store) ForgetApplied(ctx context.Context, envID string, objs []model.Applied) error {
	reqs := make([]types.WriteRequest, 0, len(objs))
	for _, a := range objs {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: appliedKey(envID, a)}})
	}
	return s.batchWrite(ctx, reqs)
}

// batchWrite writes in batches of 25 (BatchWriteItem's limit), resending
// what DynamoDB left unprocessed with backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(len(reqs), 25)
		pending := map[string][]types.WriteRequest{s.table: reqs[:n]}
		reqs = reqs[n:]
		for wait := 10 * time.Millisecond; len(pending) > 0; wait = min(2*wait, time.Second) {
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			if pending = out.UnprocessedItems; len(pending) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	return nil
}

// Applied reads up to limit objects of an environment's applied set after
// the key after ("" from the start); next is "" after the last page.
func (s *Store) Applied(ctx context.Context, envID, after string, limit int) (objs []model.Applied, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, ConsistentRead: aws.Bool(true), Limit: aws.Int32(int32(limit)),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "AP#" + envID}},
	}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: "AP#" + envID}, attrSK: &types.AttributeValueMemberS{Value: after},
		}
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("applied set of %s: %w", envID, err)
	}
	objs = make([]model.Applied, len(out.Items))
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &objs); err != nil {
		return nil, "", err
	}
	if out.LastEvaluatedKey != nil {
		next = str(out.LastEvaluatedKey, attrSK)
	}
	return objs, next, nil
}

// AllApplied reads an environment's whole applied set.
func (s *Store) AllApplied(ctx context.Context, envID string) ([]model.Applied, error) {
	var all []model.Applied
	for after := ""; ; {
		objs, next, err := s.Applied(ctx, envID, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
		if next == "" {
			return all, nil
		}
		after = next
	}
}
