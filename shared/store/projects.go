package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// reservationKey is the item that reserves a name (a project key, a service name
// within a project) for one record; it holds the record's id.
func reservationKey(scope string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: "U#" + scope},
		attrSK: &types.AttributeValueMemberS{Value: skRecord},
	}
}

func (t *txn) reserve(table, scope, id string, taken error) {
	it := reservationKey(scope)
	it["id"] = &types.AttributeValueMemberS{Value: id}
	t.add(types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(table), Item: it, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}, taken)
}

func (t *txn) release(table, scope string) {
	t.add(types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: reservationKey(scope)}}, nil)
}

// lookup resolves a reserved name to its record id.
func (s *Store) lookup(ctx context.Context, scope, kind, name string) (string, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: reservationKey(scope), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("lookup %s: %w", scope, err)
	}
	if res.Item == nil {
		return "", errs.NotFound(kind, name)
	}
	return str(res.Item, "id"), nil
}

func projectScope(key string) string { return "prj#" + key }

// CreateProject stores a new project, its key reserved in the same transaction.
func (s *Store) CreateProject(ctx context.Context, p *model.Project) error {
	s.stamp(&p.Record)
	it, err := item(model.KindProject, p, &p.Record, p.Name, "")
	if err != nil {
		return err
	}
	var t txn
	t.put(s.table, it, 0, errs.Conflict("project %s already exists", p.ID))
	t.reserve(s.table, projectScope(p.Key), p.ID, errs.Conflict("projectKey %q is already used by another project", p.Key))
	t.count(model.KindProject, &p.Record, 1)
	return s.commit(ctx, &t)
}

// ProjectByKey reads an active project by its key.
func (s *Store) ProjectByKey(ctx context.Context, key string) (*model.Project, error) {
	var p *model.Project
	err := s.byKey(ctx, projectScope(key), "project", key, func(id string) (bool, error) {
		var err error
		p, err = s.GetProject(ctx, id)
		return err == nil && p.Status != model.StatusDeleted, err
	})
	return p, err
}

// GetProject reads a project by id, deleted ones included.
func (s *Store) GetProject(ctx context.Context, id string) (*model.Project, error) {
	var p model.Project
	if err := s.get(ctx, model.KindProject, id, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateProject applies fn under a version check with retries; deleting
// (fn setting the status) releases the key in the same transaction.
func (s *Store) UpdateProject(ctx context.Context, id string, fn func(*model.Project) error) (*model.Project, error) {
	var out *model.Project
	err := retry(ctx, func() error {
		var old model.Project
		if err := s.get(ctx, model.KindProject, id, &old); err != nil {
			return err
		}
		p := old
		if err := fn(&p); err != nil {
			return err
		}
		var t txn
		if err := s.putProject(&t, &p, &old); err != nil {
			return err
		}
		if p.Status == model.StatusDeleted && old.Status != model.StatusDeleted {
			t.release(s.table, projectScope(p.Key))
		}
		if err := s.commit(ctx, &t); err != nil {
			return err
		}
		out = &p
		return nil
	})
	return out, err
}

func (s *Store) putProject(t *txn, p, old *model.Project) error {
	if p.Status != old.Status {
		p.StatusTime = s.now()
	}
	s.bump(&p.Record, old.Version)
	it, err := item(model.KindProject, p, &p.Record, p.Name, "")
	if err != nil {
		return err
	}
	t.put(s.table, it, old.Version, errVersion)
	t.count(model.KindProject, &old.Record, -1)
	t.count(model.KindProject, &p.Record, 1)
	return nil
}

// ListProjects lists projects the caller may read, newest first.
func (s *Store) ListProjects(ctx context.Context, l List) ([]model.Project, *Result, error) {
	res, err := s.list(ctx, model.KindProject, l)
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.Project, len(res.Items))
	return out, res, attributevalue.UnmarshalListOfMaps(res.Items, &out)
}
