package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
)

func envScope(projectID, key string) string  { return "env#" + projectID + "#" + key }
func idemScope(projectID, key string) string { return "idem#" + projectID + "#" + key }

// nsScope reserves a namespace of a cluster for one active environment:
// two environments (of any project) never share, or delete, one namespace.
func nsScope(clusterID, namespace string) string { return "ns#" + clusterID + "#" + namespace }

// CreateEnvironment stores a new environment and its create operation in
// one transaction with its project (whose count of environments it bumps),
// the reservation of its key and, if given, of the idempotency key.
func (s *Store) CreateEnvironment(ctx context.Context, e *model.Environment, op *model.Operation, idempotencyKey string, check func(*model.Project) error) error {
	s.stamp(&e.Record)
	s.stamp(&op.Record)
	return s.withProject(ctx, e.ProjectID, func(p *model.Project, t *txn) error {
		if err := check(p); err != nil {
			return err
		}
		// The idempotency reservation goes first: a replay must be told
		// apart from a key taken by another create.
		if idempotencyKey != "" {
			t.reserve(s.table, idemScope(p.ID, idempotencyKey), op.ID, errIdempotent)
		}
		p.Environments++
		e.Visibility, op.Owner, op.Visibility = p.Visibility, e.Owner, p.Visibility
		it, err := item(model.KindEnvironment, e, &e.Record, e.Key, e.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, 0, errs.Conflict("environment %s already exists", e.ID))
		t.reserve(s.table, envScope(p.ID, e.Key), e.ID, errs.Conflict("env_key %q is already used in project %s", e.Key, p.Key))
		t.reserve(s.table, nsScope(e.ClusterID, e.Namespace), e.ID, errs.Conflict("namespace %s of cluster %s is used by another environment", e.Namespace, e.ClusterID))
		t.count(model.KindEnvironment, &e.Record, 1)
		// The cluster must still be usable when this commits: a credential
		// detach in between would otherwise strand the environment.
		t.add(types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: recordKey(model.KindRuntimeEnv, e.ClusterID),
			ConditionExpression:       aws.String("#st = :active AND attribute_exists(credential_id)"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":active": &types.AttributeValueMemberS{Value: model.StatusActive}},
		}}, errs.Conflict("cluster_id: runtime env %s is deleted or has no credential attached", e.ClusterID))
		t.bump(usesOf(e.ClusterID), 1)
		return s.putOp(t, op, 0)
	})
}

// errIdempotent: the Idempotency-Key was used before; the caller looks up that operation.
var errIdempotent = errs.Conflict("Idempotency-Key already used")

// IsIdempotentReplay tells a create refused because its Idempotency-Key was seen.
func IsIdempotentReplay(err error) bool { return err == errIdempotent }

// OperationByIdempotencyKey returns the operation an Idempotency-Key started.
func (s *Store) OperationByIdempotencyKey(ctx context.Context, projectID, key string) (*model.Operation, error) {
	id, err := s.lookup(ctx, idemScope(projectID, key), "operation", key)
	if err != nil {
		return nil, err
	}
	return s.GetOperation(ctx, id)
}

func (s *Store) putOp(t *txn, op *model.Operation, prev int64) error {
	it, err := item(model.KindOperation, op, &op.Record, op.Kind, op.EnvironmentID)
	if err != nil {
		return err
	}
	if prev == 0 {
		t.put(s.table, it, 0, errs.Conflict("operation %s already exists", op.ID))
	} else {
		t.put(s.table, it, prev, errVersion)
	}
	return nil
}

// EnvironmentByKey reads an environment of a project by its key.
func (s *Store) EnvironmentByKey(ctx context.Context, projectID, key string) (*model.Environment, error) {
	id, err := s.lookup(ctx, envScope(projectID, key), "environment", key)
	if err != nil {
		return nil, err
	}
	return s.GetEnvironment(ctx, id)
}

// GetEnvironment reads an environment by id.
func (s *Store) GetEnvironment(ctx context.Context, id string) (*model.Environment, error) {
	var e model.Environment
	if err := s.get(ctx, model.KindEnvironment, id, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// GetOperation reads an operation by id.
func (s *Store) GetOperation(ctx context.Context, id string) (*model.Operation, error) {
	var op model.Operation
	if err := s.get(ctx, model.KindOperation, id, &op); err != nil {
		return nil, err
	}
	return &op, nil
}

// UpdateEnvironment applies fn to an environment and, when opID is set,
// to that operation, in one version-checked transaction with retries. An
// environment turning deleted frees its key and its project's count.
func (s *Store) UpdateEnvironment(ctx context.Context, id, opID string, fn func(*model.Environment, *model.Operation) error) (*model.Environment, error) {
	var out *model.Environment
	err := retry(ctx, func() error {
		old, err := s.GetEnvironment(ctx, id)
		if err != nil {
			return err
		}
		e := *old
		var op, oldOp *model.Operation
		if opID != "" {
			if oldOp, err = s.GetOperation(ctx, opID); err != nil {
				return err
			}
			cp := *oldOp
			op = &cp
		}
		if err := fn(&e, op); err != nil {
			return err
		}
		t := &txn{}
		if e.Status != old.Status {
			e.StatusTime = s.now()
		}
		s.bump(&e.Record, old.Version)
		it, err := item(model.KindEnvironment, &e, &e.Record, e.Key, e.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, old.Version, errVersion)
		t.count(model.KindEnvironment, &old.Record, -1)
		t.count(model.KindEnvironment, &e.Record, 1)
		if op != nil {
			if op.Version == oldOp.Version {
				op.Version++
			}
			if err := s.putOp(t, op, oldOp.Version); err != nil {
				return err
			}
		}
		if e.Status == model.StatusDeleted && old.Status != model.StatusDeleted {
			t.release(s.table, envScope(e.ProjectID, e.Key))
			t.release(s.table, nsScope(e.ClusterID, e.Namespace))
			t.bump(usesOf(e.ClusterID), -1)
			if err := s.projectEnvGone(ctx, t, e.ProjectID); err != nil {
				return err
			}
		}
		if err := s.commit(ctx, t); err != nil {
			return err
		}
		out = &e
		return nil
	})
	return out, err
}

// projectEnvGone decrements the project's environment count in t.
func (s *Store) projectEnvGone(ctx context.Context, t *txn, projectID string) error {
	var old model.Project
	if err := s.get(ctx, model.KindProject, projectID, &old); err != nil {
		return err
	}
	p := old
	p.Environments--
	return s.putProject(t, &p, &old)
}

// StartOperation records a new operation on an environment, refusing (409)
// while another one runs; fn adjusts the environment (e.g. its state).
func (s *Store) StartOperation(ctx context.Context, envID string, op *model.Operation, fn func(*model.Environment) error) error {
	s.stamp(&op.Record)
	return retry(ctx, func() error {
		old, err := s.GetEnvironment(ctx, envID)
		if err != nil {
			return err
		}
		if old.OperationID != "" {
			return errs.Conflict("environment %s is busy with operation %s", old.Key, old.OperationID)
		}
		e := *old
		if err := fn(&e); err != nil {
			return err
		}
		e.OperationID = op.ID
		s.bump(&e.Record, old.Version)
		op.Owner, op.Visibility = e.Owner, e.Visibility
		t := &txn{}
		it, err := item(model.KindEnvironment, &e, &e.Record, e.Key, e.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, old.Version, errVersion)
		if err := s.putOp(t, op, 0); err != nil {
			return err
		}
		return s.commit(ctx, t)
	})
}

// ListEnvironments lists a project's environments of one type, newest
// first; the caller's right to read the project has been checked.
func (s *Store) ListEnvironments(ctx context.Context, projectID, envType string, page page.Page) ([]model.Environment, *Result, error) {
	res, err := s.list(ctx, model.KindEnvironment, List{Parent: projectID, ParentChecked: true, Page: page,
		Filter: Filter{Equals: map[string]string{"env_type": envType}}})
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.Environment, len(res.Items))
	return out, res, attributevalue.UnmarshalListOfMaps(res.Items, &out)
}
