package environment

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/envctl"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

// change is a settings change that the cluster must follow.
type change struct {
	next     *model.Environment // e with the change made
	services func(i int) bool   // which services to re-apply
	registry bool               // whether the registry secret changes
	input    string             // what the operation record says was asked
	commit   func(*model.Environment)
}

// reapply makes a change as one synchronous "update" operation: everything
// renders first (a 400 touches nothing); then the environment is `updating`
// and busy while the affected objects are applied; then it is `success`
// with the change stored, or `failed` with the reason and its old settings
// kept, so that the same request retried applies again.
func (h *Handler) reapply(ctx context.Context, caller auth.Identity, e *model.Environment, ch change) (string, error) {
	out, err := h.Ctl.Render(ctx, ch.next) // a value the templates refuse fails here, naming it
	if err != nil {
		return "", err
	}
	c, err := h.Ctl.Cluster(ctx, e.ClusterID)
	if err != nil {
		return "", err
	}
	op := &model.Operation{Record: model.Record{ID: model.NewID(model.KindOperation)}, Kind: "update", EnvironmentID: e.ID,
		State: model.OpRunning, Input: ch.input}
	err = h.Store.StartOperation(ctx, e.ID, op, func(cur *model.Environment) error {
		if cur.Version != e.Version {
			return errs.Conflict("environment %s changed while the request was rendered: retry", e.Key)
		}
		cur.State, cur.UpdateBy = model.EnvUpdating, caller.Subject
		return nil
	})
	if err != nil {
		return "", err
	}
	refs, steps, applyErr := applyChange(ctx, c, e, out, ch)
	_, err = h.Store.UpdateEnvironment(ctx, e.ID, op.ID, func(cur *model.Environment, op *model.Operation) error {
		cur.OperationID = ""
		envctl.Record(cur, refs) // what was applied is remembered for delete even when a later part failed
		op.Steps, op.Ended = steps, time.Now().UTC()
		if applyErr != nil {
			cur.State, cur.Reason = model.EnvFailed, applyErr.Error()
			op.State, op.Error = model.OpFailed, applyErr.Error()
			op.Steps = append(op.Steps, "fail")
			return nil
		}
		ch.commit(cur)
		cur.State, cur.Reason, op.State = model.EnvSuccess, "", model.OpSucceeded
		if ch.registry && ch.next.RegistryID == "" {
			cur.Applied = withoutRegistrySecret(cur.Applied, e.Namespace)
		}
		op.Steps = append(op.Steps, "succeed")
		return nil
	})
	if err != nil {
		return op.ID, err
	}
	return op.ID, applyErr
}

// applyChange applies the registry secret (or deletes it when the registry
// was cleared) and the chosen services, in the create's order.
func applyChange(ctx context.Context, c *cluster.Cluster, e *model.Environment, out *render.Output, ch change) ([]cluster.Ref, []string, error) {
	var refs []cluster.Ref
	var steps []string
	if ch.registry {
		var err error
		if out.Registry != nil {
			var got []cluster.Ref
			got, err = c.ApplyObjects(ctx, e.Namespace, []*unstructured.Unstructured{out.Registry}, nil)
			refs = append(refs, got...)
		} else {
			err = c.DeleteObject(ctx, "v1", "Secret", e.Namespace, render.RegistrySecretName)
		}
		if err != nil {
			return refs, steps, err
		}
		steps = append(steps, "registry")
	}
	var objs []*unstructured.Unstructured
	for i, s := range out.Services {
		if ch.services(i) {
			objs = append(objs, s...)
		}
	}
	if len(objs) > 0 {
		got, err := c.ApplyObjects(ctx, e.Namespace, objs, nil)
		refs = append(refs, got...)
		if err != nil {
			return refs, steps, err
		}
		steps = append(steps, "services")
	}
	return refs, steps, nil
}

func withoutRegistrySecret(refs []model.AppliedRef, namespace string) []model.AppliedRef {
	out := refs[:0:0]
	for _, r := range refs {
		if !(r.Kind == "Secret" && r.Name == render.RegistrySecretName && r.Namespace == namespace) {
			out = append(out, r)
		}
	}
	return out
}
