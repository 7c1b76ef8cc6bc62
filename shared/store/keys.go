package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// A key (a project's, an environment's in its project) resolves to its
// record's id through a reservation item. That id never changes while the
// record lives: deleting it frees the key, and a record made later with
// the same key gets a new id. So a warm process remembers what keys
// resolved to and reads the record directly; a remembered record found gone
// or deleted sends the key back to its reservation. The record itself is
// always read fresh.

// byKey resolves scope to an id (remembered, else looked up) and reads the
// record with read, which tells whether it is live. A remembered id whose
// record is not live is forgotten and the key looked up again.
func (s *Store) byKey(ctx context.Context, scope, kind, name string, read func(id string) (live bool, err error)) error {
	if id, ok := s.ids.Load(scope); ok {
		live, err := read(id.(string))
		if live || err != nil && !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		s.ids.Delete(scope)
	}
	id, err := s.lookup(ctx, scope, kind, name)
	if err != nil {
		return err
	}
	if _, err := read(id); err != nil {
		return err
	}
	s.ids.Store(scope, id)
	return nil
}

// ProjectEnvironment reads a project by key and one of its environments by
// key: in one round trip when both keys resolved before in this process.
// p is nil when the project is missing; e is nil (err NotFound) when only
// the environment is.
func (s *Store) ProjectEnvironment(ctx context.Context, projectKey, envKey string) (p *model.Project, e *model.Environment, err error) {
	if pid, ok := s.ids.Load(projectScope(projectKey)); ok {
		if eid, ok := s.ids.Load(envScope(pid.(string), envKey)); ok {
			p, e, ok = s.pair(ctx, pid.(string), eid.(string))
			if ok {
				return p, e, nil
			}
		}
	}
	if p, err = s.ProjectByKey(ctx, projectKey); err != nil {
		return nil, nil, err
	}
	e, err = s.EnvironmentByKey(ctx, p.ID, envKey)
	return p, e, err
}

// pair reads a remembered project and environment in one BatchGetItem; ok
// when both are live and belong together.
func (s *Store) pair(ctx context.Context, projectID, envID string) (*model.Project, *model.Environment, bool) {
	items, err := s.both(ctx, Ref{model.KindProject, projectID}, Ref{model.KindEnvironment, envID})
	if err != nil || len(items) != 2 {
		return nil, nil, false
	}
	var p model.Project
	var e model.Environment
	for _, it := range items {
		switch str(it, attrPK) {
		case model.KindProject + "#" + projectID:
			if attributevalue.UnmarshalMap(it, &p) != nil {
				return nil, nil, false
			}
		case model.KindEnvironment + "#" + envID:
			if attributevalue.UnmarshalMap(it, &e) != nil {
				return nil, nil, false
			}
		}
	}
	ok := p.ID == projectID && e.ID == envID && e.ProjectID == p.ID && p.Status != model.StatusDeleted && e.Status != model.StatusDeleted
	return &p, &e, ok
}

// RuntimeEnvCredential reads a runtime env and a credential in one round
// trip (cluster.Connector: the credential it was last attached with).
func (s *Store) RuntimeEnvCredential(ctx context.Context, envID, credID string) (*model.RuntimeEnv, *model.Credential, error) {
	items, err := s.both(ctx, Ref{model.KindRuntimeEnv, envID}, Ref{model.KindCredential, credID})
	if err != nil {
		return nil, nil, err
	}
	var env *model.RuntimeEnv
	var cred *model.Credential
	for _, it := range items {
		switch str(it, attrPK) {
		case model.KindRuntimeEnv + "#" + envID:
			env = &model.RuntimeEnv{}
			err = attributevalue.UnmarshalMap(it, env)
		case model.KindCredential + "#" + credID:
			cred = &model.Credential{}
			err = attributevalue.UnmarshalMap(it, cred)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if env == nil {
		env, err = s.GetRuntimeEnv(ctx, envID)
		if err != nil {
			return nil, nil, err
		}
	}
	return env, cred, nil
}

// both reads two records in one round trip (or none, when the request
// prefetched them); what it does not return was not found or not processed.
func (s *Store) both(ctx context.Context, a, b Ref) ([]map[string]types.AttributeValue, error) {
	if x, y, ok := takenPair(ctx, a, b); ok {
		return []map[string]types.AttributeValue{x, y}, nil
	}
	res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.table: {Keys: []map[string]types.AttributeValue{recordKey(a.Kind, a.ID), recordKey(b.Kind, b.ID)}, ConsistentRead: aws.Bool(true)}}})
	if err != nil {
		return nil, err
	}
	return res.Responses[s.table], nil
}
