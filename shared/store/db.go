package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/envhub/envhub/shared/awserr"
)

// classified is the DynamoDB client with its throttling and faults turned
// into errs.ErrUnavailable (503): the request may be retried, it is no bug.
type classified struct{ db DB }

var _ DB = classified{}

func (c classified) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := c.db.GetItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := c.db.BatchGetItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.db.Query(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.db.TransactWriteItems(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := c.db.BatchWriteItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := c.db.DeleteItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := c.db.PutItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}

func (c classified) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := c.db.UpdateItem(ctx, in, o...)
	return out, awserr.Classify("DynamoDB", err)
}
