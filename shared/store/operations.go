package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// Start is what a request records, with the environment's desired state,
// when it starts an operation: the operation, its plan (sealed chunks, what
// the operation will apply and prune) and the request's Idempotency-Key.
type Start struct {
	Op          *model.Operation
	Plan        [][]byte
	Idempotency *Idempotency
	// Revision (sealed chunks of every object the environment renders
	// after the operation), when set, records a revision of the change.
	Revision [][]byte
	// Hosts are the Ingress hosts the environment routes after it.
	Hosts []string
}

// MaxPlanChunks bounds a plan so that it is recorded in the same
// transaction as its operation (DynamoDB: 100 items, 4 MB).
const MaxPlanChunks = 10

// PlanTTL is how long an ended operation's plan is kept (DynamoDB TTL).
const PlanTTL = 30 * 24 * time.Hour

// running lists the operations that have not ended, for maintenance.
func running(opID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "R#operations"},
		attrSK: &types.AttributeValueMemberS{Value: opID},
	}
}

func planKey(opID string, i int) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: model.KindOperation + "#" + opID},
		attrSK: &types.AttributeValueMemberS{Value: fmt.Sprintf("P#%04d", i)},
	}
}

// startOp adds a new running operation of e, its marker and its plan to t.
func (s *Store) startOp(t *txn, e *model.Environment, st Start) error {
	op := st.Op
	if n := len(st.Plan) + len(st.Revision); n > MaxPlanChunks {
		return errs.Invalid("environment", "renders more than one operation applies (%d chunks of compressed objects, at most %d)", n, MaxPlanChunks)
	}
	s.stamp(&op.Record)
	op.EnvironmentID, op.State, op.Plan.Chunks = e.ID, model.OpRunning, len(st.Plan)
	if i := st.Idempotency; i != nil {
		op.IdemCaller, op.IdemKey = i.Caller, i.Key
	}
	op.Owner, op.Visibility = e.Owner, e.Visibility
	it, err := item(model.KindOperation, op, &op.Record, op.Kind, op.EnvironmentID)
	if err != nil {
		return err
	}
	t.put(s.table, it, 0, errs.Conflict("operation %s already exists", op.ID))
	marker := running(op.ID)
	marker["environment_id"] = &types.AttributeValueMemberS{Value: e.ID}
	t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: marker}}, nil)
	for i, chunk := range st.Plan {
		pk := planKey(op.ID, i)
		pk["data"] = &types.AttributeValueMemberB{Value: chunk}
		t.add(types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: pk}}, nil)
	}
	return nil
}

// StartOperation records a new operation on an environment with its plan
// and the desired state fn sets, refusing (409) while another one runs.
func (s *Store) StartOperation(ctx context.Context, envID string, st Start, fn func(*model.Environment) error) error {
	err := retry(ctx, func() error {
		if opID, err := s.Replayed(ctx, st.Idempotency); err != nil || opID != "" {
			return replayOr(opID, err)
		}
		old, e, err := s.idle(ctx, envID, fn)
		if err != nil {
			return err
		}
		e.OperationID = st.Op.ID
		t := &txn{}
		s.idempotent(t, st)
		if err := s.follow(t, old, e, st); err != nil {
			return err
		}
		if err := s.putEnvironment(ctx, t, e, old, nil); err != nil {
			return err
		}
		if err := s.startOp(t, e, st); err != nil {
			return err
		}
		return s.commit(ctx, t)
	})
	return s.replayed(ctx, st, err)
}

// GetOperation reads an operation by id.
func (s *Store) GetOperation(ctx context.Context, id string) (*model.Operation, error) {
	var op model.Operation
	if err := s.get(ctx, model.KindOperation, id, &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// PlanChunk reads chunk i of an operation's plan, as recorded (sealed).
func (s *Store) PlanChunk(ctx context.Context, opID string, i int) ([]byte, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: planKey(opID, i), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("plan chunk %d of %s: %w", i, opID, err)
	}
	b, ok := res.Item["data"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, errs.NotFound("plan chunk", fmt.Sprintf("%s/%d", opID, i))
	}
	return b.Value, nil
}

// errEnded refuses a change to an operation that has ended (a task of an
// execution that maintenance closed, say): it must not touch the environment.
func errEnded(op *model.Operation) error {
	return errs.Conflict("operation %s has ended (%s): %s", op.ID, op.State, op.Error)
}

// Progress changes a running operation and its environment (fn may be
// nil to only record step); an ended operation is refused (409).
func (s *Store) Progress(ctx context.Context, envID, opID, step string, fn func(*model.Environment, *model.Operation)) error {
	return s.mutateOp(ctx, envID, opID, func(e *model.Environment, op *model.Operation) (bool, error) {
		if op.Halted() {
			return false, errEnded(op)
		}
		if step != "" {
			op.Steps = append(op.Steps, step)
		}
		if fn != nil {
			fn(e, op)
		}
		return true, nil
	})
}

// Halt marks a running operation as ending, for reason: its tasks stop,
// and maintenance ends it once none can still be in flight.
func (s *Store) Halt(ctx context.Context, envID, opID, reason string) error {
	return s.mutateOp(ctx, envID, opID, func(_ *model.Environment, op *model.Operation) (bool, error) {
		if op.Halted() {
			return false, nil
		}
		op.Stopping, op.Error, op.Steps = s.now(), reason, append(op.Steps, "stopping")
		return true, nil
	})
}

// EndOperation ends a running operation: fn sets its outcome and the
// environment's state (or status, to delete it). The environment is free
// again. Ending an ended operation changes nothing, so a retried last task
// and maintenance can both try; a halted one only maintenance ends
// (EndHalted), once none of its tasks can be in flight.
func (s *Store) EndOperation(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error {
	return s.end(ctx, envID, opID, false, fn)
}

// EndHalted is EndOperation for maintenance, which ends halted operations too.
func (s *Store) EndHalted(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation)) error {
	return s.end(ctx, envID, opID, true, fn)
}

func (s *Store) end(ctx context.Context, envID, opID string, halted bool, fn func(*model.Environment, *model.Operation)) error {
	return s.mutateOp(ctx, envID, opID, func(e *model.Environment, op *model.Operation) (bool, error) {
		if op.State != model.OpRunning || !halted && !op.Stopping.IsZero() {
			return false, nil
		}
		fn(e, op)
		if op.State == model.OpRunning {
			return false, fmt.Errorf("operation %s: EndOperation left it running", op.ID)
		}
		if op.Ended.IsZero() {
			op.Ended = s.now()
		}
		if e.OperationID == op.ID {
			e.OperationID = ""
		}
		e.LastOperation = op.ID
		return true, nil
	})
}

// mutateOp runs fn on fresh reads of an environment and its operation and,
// when fn says so, commits both (version-checked) with retries.
func (s *Store) mutateOp(ctx context.Context, envID, opID string, fn func(*model.Environment, *model.Operation) (bool, error)) error {
	return retry(ctx, func() error {
		oldOp, err := s.GetOperation(ctx, opID)
		if err != nil {
			return err
		}
		old, err := s.GetEnvironment(ctx, envID)
		if err != nil {
			return err
		}
		if oldOp.EnvironmentID != envID {
			return errs.Invalid("operation_id", "operation %s is not of environment %s", opID, envID)
		}
		e, op := *old, *oldOp
		if write, err := fn(&e, &op); err != nil || !write {
			return err
		}
		t := &txn{}
		if err := s.putEnvironment(ctx, t, &e, old, &op); err != nil {
			return err
		}
		s.bump(&op.Record, oldOp.Version)
		it, err := item(model.KindOperation, &op, &op.Record, op.Kind, op.EnvironmentID)
		if err != nil {
			return err
		}
		t.put(s.table, it, oldOp.Version, errVersion)
		if op.State != model.OpRunning && oldOp.State == model.OpRunning {
			t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: running(op.ID)}}, nil)
			// Its plan (sealed, but a copy of Secrets all the same) goes after PlanTTL.
			for i := range op.Plan.Chunks {
				t.add(types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: planKey(op.ID, i),
					UpdateExpression:          aws.String("SET expires_at = :exp"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":exp": num(s.now().Add(PlanTTL).Unix())}}}, nil)
			}
		}
		return s.commit(ctx, t)
	})
}

// RunningOperations lists every operation that has not ended.
func (s *Store) RunningOperations(ctx context.Context) ([]model.Operation, error) {
	var ids []string
	in := &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk"), ConsistentRead: aws.Bool(true),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": running("")[attrPK]},
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("running operations: %w", err)
		}
		for _, it := range out.Items {
			ids = append(ids, str(it, attrSK))
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	items, err := s.batchGet(ctx, model.KindOperation, ids)
	if err != nil {
		return nil, err
	}
	ops := make([]model.Operation, len(items))
	return ops, attributevalue.UnmarshalListOfMaps(items, &ops)
}
