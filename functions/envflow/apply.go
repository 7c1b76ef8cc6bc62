package envflow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/workflow"
)

// namespace claims the environment's namespace: created and marked for
// it, labelled with its runtime env's Pod Security level.
func (t task) namespace(ctx context.Context) error {
	env, err := t.h.Store.GetRuntimeEnv(ctx, t.e.ClusterID)
	if err != nil {
		return err
	}
	c, err := t.cluster(ctx)
	if err != nil {
		return err
	}
	// Only the create an admin asked to adopt may take an existing
	// namespace; an environment from before namespaces were marked takes
	// the one still labelled the old way for it.
	adopt := t.e.AdoptNamespace && t.op.Kind == model.OpCreate
	if t.e.ClusterUID == "" && !adopt {
		if adopt, err = t.labelledTheOldWay(ctx, c); err != nil {
			return err
		}
	}
	_, err = c.ClaimNamespace(ctx, t.e.Namespace, cluster.Claim{
		Environment: t.e.ID, Labels: merge(t.labels(), cluster.PodSecurityLabels(env.PodSecurityLevel())), Adopt: adopt,
	})
	if err != nil {
		return err
	}
	return t.h.Store.Progress(ctx, t.e.ID, t.op.ID, "namespace", nil)
}

// labelledTheOldWay tells whether the namespace, unmarked, carries the
// labels envhub gave namespaces before it marked them, for this environment.
func (t task) labelledTheOldWay(ctx context.Context, c *cluster.Cluster) (bool, error) {
	ns, err := c.Namespace(ctx, t.e.Namespace)
	if errors.Is(err, errs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ns.Labels[cluster.MarkEnvironment] != "" {
		return false, nil // marked: by this scheme, for whoever holds it
	}
	for k, v := range t.labels() {
		if ns.Labels[k] != v {
			return false, nil
		}
	}
	return true, nil
}

// ours reads whether the namespace is this environment's (marked for it,
// or labelled the old way for one from before marks) and whether envhub
// created it for it: only then may a delete empty it, or delete it.
func (t task) ours(ctx context.Context, c *cluster.Cluster) (ours, created bool, err error) {
	ns, err := c.Namespace(ctx, t.e.Namespace)
	if errors.Is(err, errs.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if ns.Labels[cluster.MarkEnvironment] == t.e.ID {
		return true, ns.Annotations[cluster.MarkCreatedBy] == t.e.ID, nil
	}
	if t.e.ClusterUID != "" {
		return false, false, nil
	}
	old, err := t.labelledTheOldWay(ctx, c)
	return old, false, err
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// applyBatch is how many plan items are recorded, then applied, at a time.
const applyBatch = 64

// apply runs the recorded plan from the cursor on, a batch at a time until
// the budget is spent: each batch is added to the applied set before it is
// applied (write-ahead), and pruned objects leave the set once deleted.
func (t task) apply(ctx context.Context) (Cursor, error) {
	items, err := t.plan(ctx)
	if err != nil {
		return Cursor{}, err
	}
	c, err := t.cluster(ctx)
	if err != nil {
		return Cursor{}, err
	}
	i := 0
	if t.in.Cursor != nil {
		i = min(t.in.Cursor.Offset, len(items))
	}
	until := time.Now().Add(t.h.Budget)
	for i < len(items) && time.Now().Before(until) {
		if err := t.fence(ctx); err != nil {
			return Cursor{}, err
		}
		batch := items[i:min(i+applyBatch, len(items))]
		var applies, prunes []model.Applied
		for _, it := range batch {
			switch {
			case it.Prune != nil:
				prunes = append(prunes, *it.Prune)
			case !it.Recorded:
				applies = append(applies, it.Ref())
			}
		}
		if err := c.Check(t.e.Namespace, plan.Objects(batch)); err != nil {
			return Cursor{}, err // nothing the cluster would refuse is recorded as applied
		}
		if err := t.h.Store.RecordApplied(ctx, t.e.ID, applies); err != nil {
			return Cursor{}, err
		}
		apply, adopt := plan.Split(batch)
		if _, err := c.Adopt(ctx, t.e.Namespace, adopt, nil); err != nil {
			return Cursor{}, err
		}
		if _, err := c.ApplyObjects(ctx, t.e.Namespace, apply, nil); err != nil {
			return Cursor{}, err
		}
		if err := c.Delete(ctx, refs(t.e.Namespace, prunes)); err != nil {
			return Cursor{}, err
		}
		if err := t.h.Store.ForgetApplied(ctx, t.e.ID, prunes); err != nil {
			return Cursor{}, err
		}
		i += len(batch)
	}
	done := i == len(items)
	step := ""
	if done {
		step = "apply"
	}
	err = t.h.Store.Progress(ctx, t.e.ID, t.op.ID, step, func(_ *model.Environment, op *model.Operation) { op.Plan.Applied = i })
	return Cursor{Offset: i, Done: done}, err
}

// plan reads and opens the operation's recorded plan.
func (t task) plan(ctx context.Context) ([]plan.Item, error) {
	chunks := make([][]byte, t.op.Plan.Chunks)
	for i := range chunks {
		var err error
		if chunks[i], err = t.h.Store.PlanChunk(ctx, t.op.ID, i); err != nil {
			return nil, err
		}
	}
	if len(chunks) == 0 {
		return nil, nil
	}
	p, err := plan.Open(ctx, t.h.Sealer, t.op.ID, chunks)
	return p.Items, err
}

func refs(namespace string, objs []model.Applied) []cluster.Ref {
	out := make([]cluster.Ref, len(objs))
	for i, a := range objs {
		out[i] = cluster.Ref{APIVersion: a.APIVersion, Kind: a.Kind, Namespace: namespace, Name: a.Name}
	}
	return out
}

// checkFor is how long one check task watches readiness before handing
// back to the definition's Wait + Choice loop: most environments are ready
// within it, and the loop's 1 s granularity then costs nothing.
const checkFor = 10 * time.Second

// check reports whether the environment's workloads are ready, and whether
// the operation's deadline has passed; pods the apiserver refuses to create
// (Pod Security, quota) fail the operation at once, in its words.
func (t task) check(ctx context.Context) (any, error) {
	c, err := t.cluster(ctx)
	if err != nil {
		return nil, err
	}
	until := time.Now().Add(min(checkFor, t.h.Budget))
	for {
		ws, err := c.Workloads(ctx, t.e.Namespace, t.selector())
		if err != nil {
			return nil, err
		}
		ready := true
		for _, w := range ws {
			ready = ready && w.IsReady()
		}
		if !ready {
			problems, err := c.Problems(ctx, t.e.Namespace, ws, t.op.CreateTime)
			if err != nil {
				return nil, err
			}
			if len(problems) > 0 {
				return nil, &workflow.TaskError{Type: workflow.ErrFailed, Message: strings.Join(problems, "; ")}
			}
		}
		if ready || time.Now().After(until) {
			return map[string]bool{"ready": ready, "expired": t.expired()}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
