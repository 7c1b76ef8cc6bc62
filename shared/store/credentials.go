package store

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// CreateCredential stores a new credential (content already sealed).
func (s *Store) CreateCredential(ctx context.Context, c *model.Credential) error {
	s.stamp(&c.Record)
	c.Visibility = model.Private
	it, err := item(model.KindCredential, c, &c.Record, c.Name, "")
	if err != nil {
		return err
	}
	var t txn
	t.put(s.table, it, 0, errs.Conflict("runtime_env_credential_id %s already exists", c.ID))
	t.count(model.KindCredential, &c.Record, 1)
	return s.commit(ctx, &t)
}

// GetCredential reads a credential, deleted ones included.
func (s *Store) GetCredential(ctx context.Context, id string) (*model.Credential, error) {
	var c model.Credential
	if err := s.get(ctx, model.KindCredential, id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCredential applies fn to the current credential under a version
// check, retrying on concurrent changes; deleting is fn setting the status.
func (s *Store) UpdateCredential(ctx context.Context, id string, fn func(*model.Credential) error) (*model.Credential, error) {
	var out *model.Credential
	err := retry(ctx, func() error {
		old, err := s.GetCredential(ctx, id)
		if err != nil {
			return err
		}
		c := *old
		c.RuntimeEnvIDs = slices.Clone(old.RuntimeEnvIDs)
		if err := fn(&c); err != nil {
			return err
		}
		var t txn
		if err := s.putCredential(&t, &c, old); err != nil {
			return err
		}
		if c.Status == model.StatusDeleted && old.Status != model.StatusDeleted {
			t.unused(s.table, c.ID, errInUse) // a registry credential environments pull with
		}
		if err := s.commit(ctx, &t); err != nil {
			if errors.Is(err, errInUse) {
				names, nerr := s.EnvironmentsOn(ctx, c.ID, 20)
				if nerr != nil {
					return nerr
				}
				return errs.Conflict("credential %s is the registry of environments %v: change their registry_id first", c.ID, names)
			}
			return err
		}
		out = &c
		return nil
	})
	return out, err
}

func (s *Store) putCredential(t *txn, c, old *model.Credential) error {
	if c.Status != old.Status {
		c.StatusTime = s.now()
	}
	s.bump(&c.Record, old.Version)
	it, err := item(model.KindCredential, c, &c.Record, c.Name, "")
	if err != nil {
		return err
	}
	t.put(s.table, it, old.Version, errVersion)
	t.count(model.KindCredential, &old.Record, -1)
	t.count(model.KindCredential, &c.Record, 1)
	return nil
}

// Attach records credential credID on env envID, both sides in one
// transaction, after check approves the pair as read in that transaction.
func (s *Store) Attach(ctx context.Context, envID, credID string, check func(*model.RuntimeEnv, *model.Credential) error) error {
	return s.link(ctx, envID, credID, true, check)
}

// Detach undoes Attach under the same rules.
func (s *Store) Detach(ctx context.Context, envID, credID string, check func(*model.RuntimeEnv, *model.Credential) error) error {
	return s.link(ctx, envID, credID, false, check)
}

func (s *Store) link(ctx context.Context, envID, credID string, attach bool, check func(*model.RuntimeEnv, *model.Credential) error) (err error) {
	defer func() {
		if errors.Is(err, errInUse) {
			err = s.inUse(ctx, envID, "detaching its credential")
		}
	}()
	_, err = s.mutateRuntimeEnv(ctx, envID, func(e *model.RuntimeEnv, t *txn) error {
		old, err := s.GetCredential(ctx, credID)
		if err != nil {
			return err
		}
		c := *old
		c.RuntimeEnvIDs = slices.Clone(old.RuntimeEnvIDs)
		if err := check(e, &c); err != nil {
			return err
		}
		if attach {
			e.CredentialID = c.ID
			c.RuntimeEnvIDs = append(c.RuntimeEnvIDs, e.ID)
		} else {
			t.unused(s.table, e.ID, errInUse)
			e.CredentialID = ""
			c.RuntimeEnvIDs = slices.DeleteFunc(c.RuntimeEnvIDs, func(id string) bool { return id == e.ID })
		}
		return s.putCredential(t, &c, old)
	})
	return err
}

// ListCredentials lists credentials the caller owns (all for admins), newest first.
func (s *Store) ListCredentials(ctx context.Context, l List) ([]model.Credential, *Result, error) {
	res, err := s.list(ctx, model.KindCredential, l)
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.Credential, len(res.Items))
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &out); err != nil {
		return nil, nil, err
	}
	return out, res, nil
}
