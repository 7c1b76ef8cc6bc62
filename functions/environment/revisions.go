package environment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/store"
)

// RevisionItem is a revision in a list.
type RevisionItem struct {
	Revision    int    `json:"revision"`
	OperationID string `json:"operation_id"`
	Kind        string `json:"kind"`
	Change      string `json:"change"`
	By          string `json:"update_by"`
	Time        int64  `json:"update_time"`
}

func revisionItem(r model.Revision) RevisionItem {
	return RevisionItem{r.N, r.OperationID, r.Kind, r.Change, r.By, r.Time.Unix()}
}

// listRevisions pages an environment's revisions, newest first: they are
// numbered 1..Revisions, so a page is one range query.
func (h *Handler) listRevisions(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, "page_number", "page_size")
		if err != nil {
			return err
		}
		size, err := q.Int("page_size", 20, 1, 100)
		if err != nil {
			return err
		}
		number, err := q.Int("page_number", 1, 1, 1_000_000)
		if err != nil {
			return err
		}
		_, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		to := e.Revisions - (number-1)*size
		revs, err := h.Store.ListRevisions(r.Context(), e.ID, to-size+1, to)
		if err != nil {
			return err
		}
		out := make([]RevisionItem, len(revs))
		for i, rev := range revs {
			out[i] = revisionItem(rev)
		}
		api.WriteJSON(w, map[string]any{"total": e.Revisions, "page_number": number, "page_size": size, "revisions": out})
		return nil
	}
}

// RevisionDetail is a revision with what it rendered and its diff against
// the one before (Secret values masked).
type RevisionDetail struct {
	RevisionItem
	RegistryID string           `json:"registry_id"`
	Globals    []model.KV       `json:"global_variables"`
	Services   []ServiceSummary `json:"services"`
	Objects    []ObjectRef      `json:"objects"`
	Changes    []ObjectChange   `json:"changes"`
	Diff       string           `json:"diff"`
}

// ServiceSummary is a service as a revision holds it.
type ServiceSummary struct {
	Name      string          `json:"service_name"`
	Variables []model.Setting `json:"variable_kvs"`
}

func (h *Handler) getRevision(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil)
		if err != nil {
			return err
		}
		_, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		rev, items, err := h.revision(r.Context(), r, e)
		if err != nil {
			return err
		}
		var before []plan.Item
		if rev.N > 1 {
			prev, err := h.Store.GetRevision(r.Context(), e.ID, rev.N-1)
			if err != nil {
				return err
			}
			if before, err = h.revisionObjects(r.Context(), prev); err != nil {
				return err
			}
		}
		changes, diff := compare(before, items)
		d := RevisionDetail{RevisionItem: revisionItem(*rev), RegistryID: rev.RegistryID, Globals: nonNil(rev.Globals),
			Services: []ServiceSummary{}, Objects: refs(items), Changes: changes, Diff: diff}
		for _, s := range rev.Services {
			d.Services = append(d.Services, ServiceSummary{s.Name, nonNil(s.Variables)})
		}
		api.WriteJSON(w, d)
		return nil
	}
}

// rollback applies a revision's objects as they were rendered then (the
// templates may have changed since), prunes what the environment applied
// after, and makes its desired state the revision's: one more operation,
// and one more revision.
func (h *Handler) rollback(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil)
		if err != nil {
			return err
		}
		idem, answered, err := h.Replay(w, r, caller, nil)
		if err != nil || answered {
			return err
		}
		e, err := h.changeable(r, k, caller, q)
		if err != nil {
			return err
		}
		rev, items, err := h.revision(r.Context(), r, e)
		if err != nil {
			return err
		}
		if err := h.restorable(r, caller, e, rev); err != nil {
			return err
		}
		applied, err := h.Store.AllApplied(r.Context(), e.ID)
		if err != nil {
			return err
		}
		p := plan.Diff(items, applied, func(string) bool { return true })
		if err := h.CheckObjects(r.Context(), e, &p); err != nil {
			return err
		}
		set := func(e *model.Environment) {
			e.RegistryID, e.Globals, e.Services, e.Configs = rev.RegistryID, rev.Globals, rev.Services, rev.Configs
		}
		opID, err := h.Begin(r, operation.Change{Kind: model.OpUpdate, Machine: UpdateMachine, Plan: &p, Idem: idem,
			Input: fmt.Sprintf("rollback to revision %d", rev.N)}, func(st store.Start) error {
			return h.Store.StartOperation(r.Context(), e.ID, st, operation.Desired(e, caller, set))
		})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}

// restorable refuses (409) a rollback to a desired state that could not
// change again: a registry credential gone (or not the caller's), a
// service whose template is gone.
func (h *Handler) restorable(r *http.Request, caller auth.Identity, e *model.Environment, rev *model.Revision) error {
	if rev.RegistryID != "" && rev.RegistryID != e.RegistryID {
		if err := h.checkRegistry(r, caller, rev.RegistryID); err != nil {
			return errs.Conflict("revision %d pulls images with registry credential %s, which you can no longer use: %v", rev.N, rev.RegistryID, err)
		}
	}
	then := &model.Environment{ProjectID: e.ProjectID, ProjectKey: e.ProjectKey, Services: rev.Services}
	if _, err := h.Renderer.Templates(r.Context(), then); err != nil {
		if errors.Is(err, errs.ErrInvalid) {
			return errs.Conflict("revision %d cannot be restored: %v", rev.N, err)
		}
		return err
	}
	return nil
}

// revision reads the path's revision of e and its objects.
func (h *Handler) revision(ctx context.Context, r *http.Request, e *model.Environment) (*model.Revision, []plan.Item, error) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return nil, nil, errs.Invalid("n", "must be a revision number (1 or more)")
	}
	if n > e.Revisions {
		return nil, nil, errs.NotFound("revision", strconv.Itoa(n))
	}
	rev, err := h.Store.GetRevision(ctx, e.ID, n)
	if err != nil {
		return nil, nil, err
	}
	items, err := h.revisionObjects(ctx, rev)
	return rev, items, err
}

func (h *Handler) revisionObjects(ctx context.Context, rev *model.Revision) ([]plan.Item, error) {
	chunks, err := h.Store.RevisionObjects(ctx, rev)
	if err != nil {
		return nil, err
	}
	return plan.OpenRevision(ctx, h.Sealer, rev.OperationID, chunks)
}
