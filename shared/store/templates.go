package store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
)

func templateScope(projectID, name string) string { return "svct#" + projectID + "#" + name }

// CreateTemplate adds a service template to a project in one transaction
// with the project (whose count of services it bumps) and the reservation of
// its name, after check approves the project as read in that transaction.
func (s *Store) CreateTemplate(ctx context.Context, st *model.ServiceTemplate, check func(*model.Project) error) error {
	s.stamp(&st.Record)
	return s.withProject(ctx, st.ProjectID, func(p *model.Project, t *txn) error {
		if err := check(p); err != nil {
			return err
		}
		p.Services++
		st.Owner, st.Visibility = p.Owner, p.Visibility
		it, err := item(model.KindTemplate, st, &st.Record, st.Name, st.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, 0, errs.Conflict("service template %s already exists", st.ID))
		t.reserve(s.table, templateScope(p.ID, st.Name), st.ID, errs.Conflict("service %q already exists in project %s", st.Name, p.Key))
		t.count(model.KindTemplate, &st.Record, 1)
		return nil
	})
}

// withProject runs fn on a fresh read of the project and commits the
// project (version-checked) with whatever fn added, retrying on races.
func (s *Store) withProject(ctx context.Context, id string, fn func(*model.Project, *txn) error) error {
	return retry(ctx, func() error {
		var old model.Project
		if err := s.get(ctx, model.KindProject, id, &old); err != nil {
			return err
		}
		p := old
		t := &txn{}
		if err := fn(&p, t); err != nil {
			return err
		}
		if err := s.putProject(t, &p, &old); err != nil {
			return err
		}
		return s.commit(ctx, t)
	})
}

// TemplateByName reads an active service template of a project.
func (s *Store) TemplateByName(ctx context.Context, projectID, name string) (*model.ServiceTemplate, error) {
	id, err := s.lookup(ctx, templateScope(projectID, name), "service", name)
	if err != nil {
		return nil, err
	}
	var st model.ServiceTemplate
	if err := s.get(ctx, model.KindTemplate, id, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// UpdateTemplate applies fn to a template under a version check, in one
// transaction with its project; deleting frees the name and the project's count.
// A delete is refused (409 naming them) while environments use the template, unless forced.
func (s *Store) UpdateTemplate(ctx context.Context, st *model.ServiceTemplate, force bool, fn func(*model.Project, *model.ServiceTemplate) error) error {
	err := s.withProject(ctx, st.ProjectID, func(p *model.Project, t *txn) error {
		var old model.ServiceTemplate
		if err := s.get(ctx, model.KindTemplate, st.ID, &old); err != nil {
			return err
		}
		next := old
		if err := fn(p, &next); err != nil {
			return err
		}
		if next.Status != old.Status {
			next.StatusTime = s.now()
		}
		if next.Status == model.StatusDeleted && old.Status != model.StatusDeleted {
			p.Services--
			t.release(s.table, templateScope(p.ID, old.Name))
			if !force {
				t.templateUnused(s.table, p.ID, old.Name, errTemplateInUse)
			}
		}
		s.bump(&next.Record, old.Version)
		it, err := item(model.KindTemplate, &next, &next.Record, next.Name, next.ProjectID)
		if err != nil {
			return err
		}
		t.put(s.table, it, old.Version, errVersion)
		t.count(model.KindTemplate, &old.Record, -1)
		t.count(model.KindTemplate, &next.Record, 1)
		*st = next
		return nil
	})
	if errors.Is(err, errTemplateInUse) {
		users, uerr := s.TemplateUsers(ctx, st.ProjectID, st.Name)
		if uerr != nil {
			return uerr
		}
		return errs.Conflict("service %s is used by environments %v: remove it from them first, or delete with force=true", st.Name, users)
	}
	return err
}

// ListTemplates lists a project's templates, newest first; the caller's
// right to read the project has been checked.
func (s *Store) ListTemplates(ctx context.Context, projectID string, page page.Page) ([]model.ServiceTemplate, *Result, error) {
	res, err := s.list(ctx, model.KindTemplate, List{Parent: projectID, ParentChecked: true, Page: page})
	if err != nil {
		return nil, nil, err
	}
	out := make([]model.ServiceTemplate, len(res.Items))
	return out, res, attributevalue.UnmarshalListOfMaps(res.Items, &out)
}
