package envflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// deletePage is how many applied objects one round of delete-objects reads.
const deletePage = 200

// deleteObjects deletes the environment's applied set from the cluster, a
// page at a time until the budget is spent; each object leaves the set once
// it is gone, so a retry goes on where this one stopped.
func (t task) deleteObjects(ctx context.Context) (Cursor, error) {
	c, err := t.cluster(ctx)
	if err != nil {
		return Cursor{}, err
	}
	ours, _, err := t.ours(ctx, c)
	if err != nil {
		return Cursor{}, err
	}
	until := time.Now().Add(t.h.Budget)
	deleted := 0
	for time.Now().Before(until) {
		if err := t.fence(ctx); err != nil {
			return Cursor{}, err
		}
		objs, _, err := t.h.Store.Applied(ctx, t.e.ID, "", deletePage)
		if err != nil {
			return Cursor{}, err
		}
		if len(objs) == 0 {
			return Cursor{Done: true}, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "delete-objects", nil)
		}
		// In a namespace no longer this environment's (gone and made again
		// by another), objects of the same names are not ours to delete.
		if ours {
			if err := c.Delete(ctx, refs(t.e.Namespace, objs)); err != nil {
				return Cursor{}, err
			}
		}
		if err := t.h.Store.ForgetApplied(ctx, t.e.ID, objs); err != nil {
			return Cursor{}, err
		}
		deleted += len(objs)
	}
	return Cursor{Offset: deleted}, nil
}

// sweep deletes whatever still carries the environment's labels in its
// namespace: objects an applied set lost track of, made by hand or by a
// version of envhub that kept none.
func (t task) sweep(ctx context.Context) error {
	c, err := t.cluster(ctx)
	if err != nil {
		return err
	}
	ours, _, err := t.ours(ctx, c)
	if err != nil || !ours { // gone, or never claimed (its claim failed): nothing of ours to find there
		return cmp.Or(err, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "sweep (not this environment's namespace)", nil))
	}
	n, err := c.Sweep(ctx, t.e.Namespace, t.selector())
	if err != nil {
		return err
	}
	return t.h.Store.Progress(ctx, t.e.ID, t.op.ID, fmt.Sprintf("sweep (%d)", n), nil)
}

// releaseNamespace deletes the namespace when envhub created it, or hands
// an adopted one back unmarked; wait tells the definition to wait until it is gone.
func (t task) releaseNamespace(ctx context.Context) (any, error) {
	c, err := t.cluster(ctx)
	if err != nil {
		return nil, err
	}
	ours, created, err := t.ours(ctx, c)
	switch {
	case err != nil:
		return nil, err
	case !ours:
		return map[string]bool{"wait": false}, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "release-namespace (not this environment's)", nil)
	case created:
		if err := c.DeleteNamespace(ctx, t.e.Namespace, false); err != nil {
			return nil, err
		}
		return map[string]bool{"wait": true}, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "delete-namespace", nil)
	}
	if err := c.ReleaseNamespace(ctx, t.e.Namespace, t.labels()); ignoreNotFound(err) != nil {
		return nil, err
	}
	return map[string]bool{"wait": false}, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "release-namespace", nil)
}

func (t task) namespaceGone(ctx context.Context) (any, error) {
	c, err := t.cluster(ctx)
	if err != nil {
		return nil, err
	}
	_, nsErr := c.Namespace(ctx, t.e.Namespace)
	if err := ignoreNotFound(nsErr); err != nil {
		return nil, err
	}
	return map[string]bool{"gone": nsErr != nil, "expired": t.expired()}, nil
}

// retainNamespace keeps the namespace and what runs in it (isDelete=false),
// marked retained: its reservation stays until an admin adopts it.
func (t task) retainNamespace(ctx context.Context) error {
	c, err := t.cluster(ctx)
	if err != nil {
		return err
	}
	if ours, _, err := t.ours(ctx, c); err != nil || !ours {
		return cmp.Or(err, t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "retain-namespace (not this environment's)", nil))
	}
	if err := c.RetainNamespace(ctx, t.e.Namespace); ignoreNotFound(err) != nil {
		return err
	}
	return t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "retain-namespace", nil)
}

// remove forgets the environment: its applied set, then the record itself
// (its key, and its namespace unless retained, are free again).
func (t task) remove(ctx context.Context) error {
	for {
		objs, _, err := t.h.Store.Applied(ctx, t.e.ID, "", 1000)
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			break
		}
		if err := t.h.Store.ForgetApplied(ctx, t.e.ID, objs); err != nil {
			return err
		}
	}
	return t.h.Store.EndOperation(ctx, t.e.ID, t.op.ID, func(e *model.Environment, op *model.Operation) {
		e.Status, e.Reason = model.StatusDeleted, ""
		op.State, op.Steps = model.OpSucceeded, append(op.Steps, "remove")
	})
}

func ignoreNotFound(err error) error {
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	return err
}
