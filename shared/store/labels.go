package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

func (s *Store) putLabel(t *txn, l *model.Label, prev model.Record) error {
	it, err := item(model.KindLabel, l, &l.Record, l.Key, l.RuntimeEnvID)
	if err != nil {
		return err
	}
	if prev.Version == 0 {
		t.put(s.table, it, 0, errs.Conflict("runtime_env_label_id %s already exists", l.ID))
	} else {
		t.put(s.table, it, prev.Version, errVersion)
		t.count(model.KindLabel, &prev, -1)
	}
	t.count(model.KindLabel, &l.Record, 1)
	return nil
}

// CreateLabel adds a label to its runtime env in one transaction with the
// env, after check approves the env. Keys are unique per env.
func (s *Store) CreateLabel(ctx context.Context, l *model.Label, check func(*model.RuntimeEnv) error) error {
	s.stamp(&l.Record)
	_, err := s.mutateRuntimeEnv(ctx, l.RuntimeEnvID, func(e *model.RuntimeEnv, t *txn) error {
		if err := check(e); err != nil {
			return err
		}
		if len(e.Labels) >= model.MaxLabelsPerRuntimeEnv {
			return errs.Conflict("runtime env %s already has %d labels, the most it may have", e.ID, model.MaxLabelsPerRuntimeEnv)
		}
		if err := uniqueKey(e, l); err != nil {
			return err
		}
		l.Owner, l.Visibility = e.Owner, e.Visibility
		if e.Labels == nil {
			e.Labels = map[string]model.LabelKV{}
		}
		e.Labels[l.ID] = model.LabelKV{Key: l.Key, Value: l.Value}
		return s.putLabel(t, l, model.Record{})
	})
	return err
}

func uniqueKey(e *model.RuntimeEnv, l *model.Label) error {
	for id, kv := range e.Labels {
		if id != l.ID && kv.Key == l.Key {
			return errs.Conflict("label_key %q is already used by label %s on runtime env %s", l.Key, id, e.ID)
		}
	}
	return nil
}

// GetLabel reads a label, deleted ones included.
func (s *Store) GetLabel(ctx context.Context, id string) (*model.Label, error) {
	var l model.Label
	if err := s.get(ctx, model.KindLabel, id, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// UpdateLabel applies fn to the label (and reads its env for checks) and
// stores both in one transaction; deleting a label is fn setting its status.
func (s *Store) UpdateLabel(ctx context.Context, id string, fn func(*model.RuntimeEnv, *model.Label) error) (*model.Label, error) {
	first, err := s.GetLabel(ctx, id)
	if err != nil {
		return nil, err
	}
	var out *model.Label
	_, err = s.mutateRuntimeEnv(ctx, first.RuntimeEnvID, func(e *model.RuntimeEnv, t *txn) error {
		old, err := s.GetLabel(ctx, id)
		if err != nil {
			return err
		}
		l := *old
		if err := fn(e, &l); err != nil {
			return err
		}
		if l.Status != old.Status {
			l.StatusTime = s.now()
		}
		s.bump(&l.Record, old.Version)
		if l.Status == model.StatusDeleted {
			delete(e.Labels, l.ID)
		} else {
			if err := uniqueKey(e, &l); err != nil {
				return err
			}
			if e.Labels == nil {
				e.Labels = map[string]model.LabelKV{}
			}
			e.Labels[l.ID] = model.LabelKV{Key: l.Key, Value: l.Value}
		}
		out = &l
		return s.putLabel(t, &l, old.Record)
	})
	return out, err
}

// ListLabels lists labels the caller may read, newest first.
func (s *Store) ListLabels(ctx context.Context, l List) ([]model.Label, *Result, error) {
	res, err := s.list(ctx, model.KindLabel, l)
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.Label, len(res.Items))
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, nil, err
	}
	return out, res, nil
}

// LabelRuntimeEnvs maps label ids to their runtime env ids (active labels only).
func (s *Store) LabelRuntimeEnvs(ctx context.Context, ids []string) ([]string, error) {
	items, err := s.batchGet(ctx, model.KindLabel, ids)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		if str(it, "status") == model.StatusActive {
			out = append(out, str(it, "runtime_env_id"))
		}
	}
	return out, nil
}
