package store

import (
	"cmp"
	"context"
	"errors"
	"maps"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// CreateRuntimeEnv stores a new runtime env (status active, version 1).
func (s *Store) CreateRuntimeEnv(ctx context.Context, e *model.RuntimeEnv) error {
	s.stamp(&e.Record)
	it, err := item(model.KindRuntimeEnv, e, &e.Record, e.Name, "")
	if err != nil {
		return err
	}
	var t txn
	t.put(s.table, it, 0, errs.Conflict("runtime_env_id %s already exists", e.ID))
	t.count(model.KindRuntimeEnv, &e.Record, 1)
	return s.commit(ctx, &t)
}

func (s *Store) stamp(r *model.Record) {
	now := s.now()
	r.CreateTime, r.StatusTime, r.UpdateTime, r.Status, r.Version = now, now, now, model.StatusActive, 1
}

// bump is what every change of a record does: the next version, now.
func (s *Store) bump(r *model.Record, prev int64) {
	r.Version, r.UpdateTime = prev+1, s.now()
}

// GetRuntimeEnv reads a runtime env, deleted ones included.
func (s *Store) GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error) {
	var e model.RuntimeEnv
	if err := s.get(ctx, model.KindRuntimeEnv, id, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// UpdateRuntimeEnv applies fn to the current env and stores the result under a
// version check, retrying from a fresh read when another writer got there
// first, so concurrent modifies never lose an update. Owner, visibility and
// status changes reach the env's labels in the same transaction.
func (s *Store) UpdateRuntimeEnv(ctx context.Context, id string, fn func(*model.RuntimeEnv) error) (*model.RuntimeEnv, error) {
	return s.mutateRuntimeEnv(ctx, id, func(e *model.RuntimeEnv, _ *txn) error { return fn(e) })
}

func (s *Store) mutateRuntimeEnv(ctx context.Context, id string, fn func(*model.RuntimeEnv, *txn) error) (*model.RuntimeEnv, error) {
	var out *model.RuntimeEnv
	err := retry(ctx, func() error {
		old, err := s.GetRuntimeEnv(ctx, id)
		if err != nil {
			return err
		}
		e := *old
		e.Labels = maps.Clone(old.Labels)
		t := &txn{}
		if err := fn(&e, t); err != nil {
			return err
		}
		if e.Status != old.Status {
			e.StatusTime = s.now()
			if e.Status == model.StatusDeleted {
				e.Labels = nil
			}
		}
		s.bump(&e.Record, old.Version)
		it, err := item(model.KindRuntimeEnv, &e, &e.Record, e.Name, "")
		if err != nil {
			return err
		}
		t.put(s.table, it, old.Version, errVersion)
		t.count(model.KindRuntimeEnv, &old.Record, -1)
		t.count(model.KindRuntimeEnv, &e.Record, 1)
		if e.Owner != old.Owner || e.Visibility != old.Visibility || e.Status != old.Status {
			if err := s.followRuntimeEnv(ctx, t, old, &e); err != nil {
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

// followRuntimeEnv moves an env's labels along with its owner, visibility and status.
func (s *Store) followRuntimeEnv(ctx context.Context, t *txn, old, e *model.RuntimeEnv) error {
	ids := make([]string, 0, len(old.Labels))
	for lid := range old.Labels {
		ids = append(ids, lid)
	}
	items, err := s.batchGet(ctx, model.KindLabel, ids)
	if err != nil {
		return err
	}
	for _, raw := range items {
		var l model.Label
		if err := attributevalue.UnmarshalMap(raw, &l); err != nil {
			return err
		}
		prev := l.Record
		l.Owner, l.Visibility = e.Owner, e.Visibility
		s.bump(&l.Record, l.Version)
		if e.Status != old.Status {
			l.Status, l.StatusTime = e.Status, e.StatusTime
		}
		if err := s.putLabel(t, &l, prev); err != nil {
			return err
		}
	}
	return nil
}

// ListRuntimeEnvs lists runtime envs the caller may read, newest first.
func (s *Store) ListRuntimeEnvs(ctx context.Context, l List) ([]model.RuntimeEnv, *Result, error) {
	res, err := s.list(ctx, model.KindRuntimeEnv, l)
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.RuntimeEnv, len(res.Items))
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, nil, err
	}
	return out, res, nil
}

// GetRuntimeEnvs reads envs by id (for verbose views); missing ones are left out.
func (s *Store) GetRuntimeEnvs(ctx context.Context, ids []string) (map[string]model.RuntimeEnv, error) {
	items, err := s.batchGet(ctx, model.KindRuntimeEnv, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]model.RuntimeEnv, len(items))
	for _, it := range items {
		var e model.RuntimeEnv
		if err := attributevalue.UnmarshalMap(it, &e); err != nil {
			return nil, err
		}
		out[e.ID] = e
	}
	return out, nil
}

// DeleteRuntimeEnv marks a runtime env deleted after check approves it; it
// is refused (409) while environments live on it (naming them) or while it
// has a credential. check runs first: only who may delete the env learns
// what lives there.
func (s *Store) DeleteRuntimeEnv(ctx context.Context, id string, check func(*model.RuntimeEnv) error) error {
	e, err := s.GetRuntimeEnv(ctx, id)
	if err != nil {
		return err
	}
	if err := check(e); err != nil {
		return err
	}
	if names, err := s.EnvironmentsOn(ctx, id, 1); err != nil || len(names) > 0 {
		return cmp.Or(err, s.inUse(ctx, id, "deleting it"))
	}
	_, err = s.mutateRuntimeEnv(ctx, id, func(e *model.RuntimeEnv, t *txn) error {
		if err := check(e); err != nil {
			return err
		}
		if e.CredentialID != "" {
			return errs.Conflict("runtime env %s has credential %s attached: detach it first", id, e.CredentialID)
		}
		t.unused(s.table, e.ID, errInUse)
		e.Status = model.StatusDeleted
		return nil
	})
	if errors.Is(err, errInUse) {
		return s.inUse(ctx, id, "deleting it")
	}
	return err
}
