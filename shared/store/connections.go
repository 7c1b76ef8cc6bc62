package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
)

// Connection is a WebSocket client: who it authenticated as at $connect,
// and until when its token (and so the connection) is good. Its
// subscriptions are items in the same partition; all expire by TTL.
type Connection struct {
	ID      string    `dynamodbav:"id"`
	Subject string    `dynamodbav:"sub"`
	Admin   bool      `dynamodbav:"admin"`
	Expires time.Time `dynamodbav:"-"`
	Subs    int       `dynamodbav:"subs"`
}

// Subscription is one log stream a connection asked for, and where it is:
// each pod's cursor past the last line sent. Gen names the worker that
// owns the stream; a hand-over moves it on, so two workers never send it.
type Subscription struct {
	Connection string            `dynamodbav:"conn"`
	ID         string            `dynamodbav:"id"`
	Subject    string            `dynamodbav:"subject"`
	Project    string            `dynamodbav:"project"`
	Env        string            `dynamodbav:"env"`
	Pod        string            `dynamodbav:"pod,omitempty"`
	Service    string            `dynamodbav:"service,omitempty"`
	Container  string            `dynamodbav:"container,omitempty"`
	Tails      int               `dynamodbav:"tails"`
	Since      time.Time         `dynamodbav:"since"`
	Cursors    map[string]string `dynamodbav:"cursors"`
	Gen        int64             `dynamodbav:"gen"`
}

// MaxSubscriptions bounds one connection's subscriptions, and
// MaxUserSubscriptions one user's over all connections: each is a worker
// (a Lambda execution while it lives).
const (
	MaxSubscriptions     = 5
	MaxUserSubscriptions = 20
)

func connKey(id, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "conn#" + id},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func subSK(id string) string { return "sub#" + id }

// PutConnection records a new connection.
func (s *Store) PutConnection(ctx context.Context, c Connection) error {
	it, err := attributevalue.MarshalMap(c)
	if err != nil {
		return err
	}
	for k, v := range connKey(c.ID, skRecord) {
		it[k] = v
	}
	it["expires_at"] = num(c.Expires.Unix())
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: it,
		ConditionExpression: aws.String("attribute_not_exists(PK)")})
	if isConditionFailed(err) {
		return errs.Conflict("connection %s is already open", c.ID)
	}
	return err
}

// Connection reads a live connection (NotFound once gone or expired).
func (s *Store) Connection(ctx context.Context, id string) (*Connection, error) {
	var c Connection
	exp, err := s.connItem(ctx, id, skRecord, &c)
	if err != nil {
		return nil, err
	}
	c.Expires = exp
	return &c, nil
}

// Subscription reads one subscription of a live connection.
func (s *Store) Subscription(ctx context.Context, conn, id string) (*Subscription, error) {
	var sub Subscription
	if _, err := s.connItem(ctx, conn, subSK(id), &sub); err != nil {
		return nil, err
	}
	return &sub, nil
}

func (s *Store) connItem(ctx context.Context, conn, sk string, out any) (time.Time, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: connKey(conn, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, fmt.Errorf("read connection %s: %w", conn, err)
	}
	exp := expiry(res.Item)
	if res.Item == nil || !exp.After(s.now()) { // TTL deletes late: expired is gone
		return time.Time{}, errs.NotFound("connection", conn)
	}
	return exp, attributevalue.UnmarshalMap(res.Item, out)
}

func expiry(it map[string]types.AttributeValue) time.Time {
	n, ok := it["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	sec, _ := strconv.ParseInt(n.Value, 10, 64)
	return time.Unix(sec, 0)
}

// userKey is the item leasing a user's subscriptions: one entry per live
// subscription ("<connection>/<id>" -> its expiry), so the per-user bound
// holds exactly, and entries of connections that died without
// $disconnect lapse with them.
func userKey(subject string) map[string]types.AttributeValue {
	return connKey("user#"+subject, skRecord) // connection ids hold no '#'
}

func leaseName(conn, id string) string { return conn + "/" + id }

// Subscribe records sub on its connection, which must be live and hold
// fewer than MaxSubscriptions, its user fewer than MaxUserSubscriptions
// (each a conflict); an id already in use is a conflict too.
func (s *Store) Subscribe(ctx context.Context, sub Subscription, expires time.Time) error {
	it, err := attributevalue.MarshalMap(sub)
	if err != nil {
		return err
	}
	for k, v := range connKey(sub.Connection, subSK(sub.ID)) {
		it[k] = v
	}
	it["expires_at"] = num(expires.Unix())
	return retry(ctx, func() error {
		now := s.now().Unix()
		res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: userKey(sub.Subject), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("read subscriptions of %s: %w", sub.Subject, err)
		}
		var user struct {
			Leases  map[string]int64 `dynamodbav:"leases"`
			Version int64            `dynamodbav:"version"`
		}
		if err := attributevalue.UnmarshalMap(res.Item, &user); err != nil {
			return err
		}
		live, until := map[string]int64{}, expires.Unix()
		for k, exp := range user.Leases {
			if exp > now {
				live[k], until = exp, max(until, exp)
			}
		}
		if len(live) >= MaxUserSubscriptions {
			return errs.Conflict("you have %d live log subscriptions, the most one user may have: unsubscribe one first", len(live))
		}
		live[leaseName(sub.Connection, sub.ID)] = expires.Unix()
		lv, err := attributevalue.Marshal(live)
		if err != nil {
			return err
		}
		uit := userKey(sub.Subject)
		uit["leases"], uit["version"], uit["expires_at"] = lv, num(user.Version+1), num(until)
		t := &txn{}
		t.put(s.table, uit, user.Version, errVersion)
		t.add(types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: connKey(sub.Connection, skRecord),
			UpdateExpression:          aws.String("SET subs = subs + :one"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND subs < :max AND expires_at > :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":max": num(MaxSubscriptions), ":now": num(now)},
		}}, errs.Conflict("connection %s is gone or has %d subscriptions already (unsubscribe one first)", sub.Connection, MaxSubscriptions))
		t.add(types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it,
			ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			errs.Conflict("subscription %s already exists on this connection", sub.ID))
		return s.commit(ctx, t)
	})
}

// release drops a subscription's lease from its user's item, moving its
// version on (a subscribe that read the lease must not write it back).
func (s *Store) release(subject, conn, id string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: userKey(subject),
		UpdateExpression:          aws.String("REMOVE leases.#k ADD version :one"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeNames:  map[string]string{"#k": leaseName(conn, id)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	}}
}

var errNoLease = errors.New("no lease item")

// Unsubscribe deletes a subscription of subject's, and its lease (its
// worker stops at its next checkpoint); NotFound if there is none. With gen
// non-zero, only if that generation still owns it (else ErrSuperseded): a
// worker ends only its own stream, never one made again under its id.
func (s *Store) Unsubscribe(ctx context.Context, subject, conn, id string, gen int64) error {
	unsubscribe := func(lease bool) *txn {
		del := &types.Delete{TableName: &s.table, Key: connKey(conn, subSK(id)), ConditionExpression: aws.String("attribute_exists(PK)")}
		var gone error = errs.NotFound("subscription", id)
		if gen != 0 {
			del.ConditionExpression = aws.String("attribute_exists(PK) AND gen = :gen")
			del.ExpressionAttributeValues = map[string]types.AttributeValue{":gen": num(gen)}
			gone = ErrSuperseded
		}
		t := &txn{}
		t.add(types.TransactWriteItem{Delete: del}, gone)
		t.add(types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: connKey(conn, skRecord),
			UpdateExpression:          aws.String("SET subs = subs - :one"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
		}}, errs.NotFound("connection", conn))
		if lease {
			t.add(s.release(subject, conn, id), errNoLease)
		}
		return t
	}
	return retry(ctx, func() error {
		err := s.commit(ctx, unsubscribe(true))
		if errors.Is(err, errNoLease) { // made before leases were kept
			err = s.commit(ctx, unsubscribe(false))
		}
		return err
	})
}

// ErrSuperseded is a checkpoint of a worker that no longer owns its
// subscription: it was unsubscribed, its connection closed, or another
// worker took over.
var ErrSuperseded = errors.New("the subscription was ended or handed over")

// Checkpoint records the cursors a worker of generation gen has sent up
// to, handing the subscription to generation next (next == gen: it keeps
// it). It fails with ErrSuperseded if gen no longer owns it.
func (s *Store) Checkpoint(ctx context.Context, conn, id string, gen, next int64, cursors map[string]string) error {
	cv, err := attributevalue.Marshal(cursors)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: connKey(conn, subSK(id)),
		UpdateExpression:                    aws.String("SET cursors = :c, gen = :next"),
		ConditionExpression:                 aws.String("attribute_exists(PK) AND gen = :gen"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":c": cv, ":next": num(next), ":gen": num(gen)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if n, ok := ccf.Item["gen"].(*types.AttributeValueMemberN); ok && n.Value == strconv.FormatInt(next, 10) && next != gen {
			return nil // the SDK's retry of a write whose answer was lost
		}
		return ErrSuperseded
	}
	return err
}

// DeleteConnection deletes a connection and its subscriptions (their
// workers stop at their next checkpoint).
func (s *Store) DeleteConnection(ctx context.Context, id string) error {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{TableName: &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "conn#" + id}},
		ProjectionExpression:      aws.String("SK, #sub"), ExpressionAttributeNames: map[string]string{"#sub": "subject"},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("read connection %s: %w", id, err)
	}
	// Subscriptions first (each with its lease), the record last: a
	// failure half way leaves a record to find them by.
	for _, it := range res.Items { // at most MaxSubscriptions + 1 items
		if sub, ok := strings.CutPrefix(str(it, attrSK), "sub#"); ok {
			if err := s.Unsubscribe(ctx, str(it, "subject"), id, sub, 0); err != nil && !errors.Is(err, errs.ErrNotFound) {
				return fmt.Errorf("delete subscription %s: %w", sub, err)
			}
		}
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: connKey(id, skRecord)}); err != nil {
		return fmt.Errorf("delete connection %s: %w", id, err)
	}
	return nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
