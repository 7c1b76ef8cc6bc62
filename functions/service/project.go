// Package service serves projects and their service templates: the input
// environments are made from (routes under /openapi/projects and
// /openapi/service/template, in the environment API's style).
package service

import (
	"context"
	"net/http"
	"strings"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/render"
	"github.com/envhub/envhub/shared/store"
)

// Store is what the handlers need from the store.
type Store interface {
	CreateProject(ctx context.Context, p *model.Project) error
	ProjectByKey(ctx context.Context, key string) (*model.Project, error)
	UpdateProject(ctx context.Context, id string, fn func(*model.Project) error) (*model.Project, error)
	ListProjects(ctx context.Context, l store.List) ([]model.Project, *store.Result, error)
	CreateTemplate(ctx context.Context, st *model.ServiceTemplate, check func(*model.Project) error) error
	TemplateByName(ctx context.Context, projectID, name string) (*model.ServiceTemplate, error)
	UpdateTemplate(ctx context.Context, st *model.ServiceTemplate, force bool, fn func(*model.Project, *model.ServiceTemplate) error) error
	ListTemplates(ctx context.Context, projectID string, page page.Page) ([]model.ServiceTemplate, *store.Result, error)
}

var _ Store = (*store.Store)(nil)

// Handler serves the area's routes: projects and service templates, and
// the services of environments, whose changes start operations through Ops.
type Handler struct {
	Store Store
	Ops   *operation.Starter
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return (&Handler{Store: d.Store, Ops: operation.New(d)}).Actions()
}

type kind struct{ envType string }

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	test, prod := kind{model.EnvTest}, kind{model.EnvProduction}
	return map[string]api.HandlerFunc{
		"CreateProject": h.createProject, "ListProjects": h.listProjects, "GetProject": h.getProject,
		"UpdateProject": h.updateProject, "DeleteProject": h.deleteProject,
		"CreateServiceTemplate": h.createTemplate, "ListServiceTemplates": h.listTemplates,
		"GetServiceTemplate": h.getTemplate, "UpdateServiceTemplate": h.updateTemplate,
		"DeleteServiceTemplate": h.deleteTemplate,

		"GetEnvironmentService": h.getService(test), "GetProductionEnvironmentService": h.getService(prod),
		"AddEnvironmentServices": h.addServices(test), "AddProductionEnvironmentServices": h.addServices(prod),
		"UpdateEnvironmentServices": h.updateServices(test), "UpdateProductionEnvironmentServices": h.updateServices(prod),
		"DeleteEnvironmentServices": h.deleteServices(test), "DeleteProductionEnvironmentServices": h.deleteServices(prod),
	}
}

// ProjectView is a project as the API shows it.
type ProjectView struct {
	Key             string      `json:"project_key"`
	Name            string      `json:"project_name"`
	Description     string      `json:"description"`
	Visibility      string      `json:"visibility"`
	IsPublic        bool        `json:"is_public"`
	ProjectType     string      `json:"project_type"`
	Owner           string      `json:"owner"`
	GlobalVariables []model.Var `json:"global_variables"`
	Services        int         `json:"services"`
	CreateTime      int64       `json:"create_time"`
	UpdateTime      int64       `json:"update_time"`
	Version         int64       `json:"version"`
}

func viewProject(p *model.Project) ProjectView {
	vars := p.GlobalVariables
	if vars == nil {
		vars = []model.Var{}
	}
	return ProjectView{p.Key, p.Name, p.Description, p.Visibility, p.Visibility == model.Public, ProjectTypeYAML, p.Owner, vars, p.Services,
		p.CreateTime.Unix(), p.Updated().Unix(), p.Version}
}

// ProjectTypeYAML is the one project type envhub serves (the environment
// API's K8s YAML projects), so it is not stored: every project is one.
const ProjectTypeYAML = "yaml"

// CreateProjectRequest is the create body.
type CreateProjectRequest struct {
	Key             string      `json:"project_key"`
	Name            string      `json:"project_name"`
	Description     string      `json:"description"`
	Visibility      string      `json:"visibility"`
	IsPublic        *bool       `json:"is_public"`    // the environment API's spelling of visibility
	ProjectType     *string     `json:"project_type"` // only "yaml"; absent means yaml
	Owner           string      `json:"owner"`
	GlobalVariables []model.Var `json:"global_variables"`
}

// withIsPublic folds is_public into visibility: alone it decides it; with
// visibility the two must agree, or the request is ambiguous.
func withIsPublic(visibility string, isPublic *bool) (string, error) {
	if isPublic == nil {
		return visibility, nil
	}
	want := model.Private
	if *isPublic {
		want = model.Public
	}
	switch visibility {
	case "", want:
		return want, nil
	}
	if err := model.CheckVisibility(visibility); err != nil {
		return "", err
	}
	return "", errs.Invalid("is_public", "is %t but visibility is %q: they must agree (or give only one)", *isPublic, visibility)
}

func (h *Handler) createProject(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	var req CreateProjectRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	if err := model.CheckKey("project_key", req.Key, 32); err != nil {
		return err
	}
	if strings.Contains(req.Key, "-env") {
		// Namespaces are <projectKey>-env-<...>: no key may make another's prefix.
		return errs.Invalid("project_key", "must not contain \"-env\"")
	}
	if req.Name == "" {
		req.Name = req.Key
	}
	if req.ProjectType != nil && *req.ProjectType != ProjectTypeYAML {
		return errs.Invalid("project_type", "%q is not supported: the only project type is %q", *req.ProjectType, ProjectTypeYAML)
	}
	if req.Visibility, err = withIsPublic(req.Visibility, req.IsPublic); err != nil {
		return err
	}
	if req.Visibility == "" {
		req.Visibility = model.Private
	}
	if err := checkProject(req.Name, req.Description, req.Visibility, req.GlobalVariables); err != nil {
		return err
	}
	if req.Owner != "" {
		if err := model.CheckOwner("owner", req.Owner); err != nil {
			return err
		}
	}
	owner, err := caller.Owner(req.Owner)
	if err != nil {
		return err
	}
	p := &model.Project{
		Record: model.Record{ID: model.NewID(model.KindProject), Owner: owner, Visibility: req.Visibility},
		Key:    req.Key, Name: req.Name, Description: req.Description, GlobalVariables: req.GlobalVariables,
	}
	if err := h.Store.CreateProject(r.Context(), p); err != nil {
		return err
	}
	api.WriteSuccess(w)
	return nil
}

func checkProject(name, description, visibility string, vars []model.Var) error {
	if err := model.CheckName("project_name", name, true); err != nil {
		return err
	}
	if err := model.CheckDescription(description); err != nil {
		return err
	}
	if err := model.CheckVisibility(visibility); err != nil {
		return err
	}
	return render.CheckVars("global_variables", vars)
}

// project reads the projectKey query parameter's project, hidden (404) from
// callers who may not read it.
func (h *Handler) project(r *http.Request, caller auth.Identity, q api.Query) (*model.Project, error) {
	key, err := q.String("projectKey")
	if err != nil {
		return nil, err
	}
	if err := model.CheckKey("projectKey", key, 32); err != nil {
		return nil, err
	}
	p, err := h.Store.ProjectByKey(r.Context(), key)
	if err != nil {
		return nil, err
	}
	if !caller.CanRead(p.Owner, p.Visibility) || p.Status != model.StatusActive {
		return nil, errs.NotFound("project", key)
	}
	return p, nil
}

func (h *Handler) getProject(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	q, err := api.ParseQuery(r, "projectKey")
	if err != nil {
		return err
	}
	p, err := h.project(r, caller, q)
	if err != nil {
		return err
	}
	api.WriteJSON(w, viewProject(p))
	return nil
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	q, err := api.ParseQuery(r, api.PageParams...)
	if err != nil {
		return err
	}
	page, err := api.ParsePage(q)
	if err != nil {
		return err
	}
	ps, res, err := h.Store.ListProjects(r.Context(), store.List{Caller: caller, Page: page})
	if err != nil {
		return err
	}
	out := struct {
		Total     int           `json:"total"`
		Projects  []ProjectView `json:"projects"`
		NextToken string        `json:"next_token,omitempty"`
	}{Total: res.Total, Projects: make([]ProjectView, len(ps)), NextToken: page.Info(res.Total, res.Last, res.More).NextToken}
	for i := range ps {
		out.Projects[i] = viewProject(&ps[i])
	}
	api.WriteJSON(w, out)
	return nil
}

// UpdateProjectRequest is the update body; absent fields stay.
type UpdateProjectRequest struct {
	Name            *string      `json:"project_name"`
	Description     *string      `json:"description"`
	Visibility      *string      `json:"visibility"`
	IsPublic        *bool        `json:"is_public"`
	Owner           *string      `json:"owner"`
	GlobalVariables *[]model.Var `json:"global_variables"`
	Version         *int64       `json:"version"`
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req UpdateProjectRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	return h.changeProject(w, r, func(caller auth.Identity, p *model.Project) error {
		if err := errs.Version("project", p.Key, p.Version, req.Version); err != nil {
			return err
		}
		set(&p.Name, req.Name)
		set(&p.Description, req.Description)
		if req.Visibility != nil || req.IsPublic != nil {
			asked := ""
			if req.Visibility != nil {
				asked = *req.Visibility
			}
			v, err := withIsPublic(asked, req.IsPublic)
			if err != nil {
				return err
			}
			p.Visibility = v
		}
		if req.GlobalVariables != nil {
			p.GlobalVariables = *req.GlobalVariables
		}
		if req.Owner != nil {
			if err := model.CheckOwner("owner", *req.Owner); err != nil {
				return err
			}
			owner, err := caller.Owner(*req.Owner)
			if err != nil {
				return err
			}
			p.Owner = owner
		}
		return checkProject(p.Name, p.Description, p.Visibility, p.GlobalVariables)
	})
}

func set(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func (h *Handler) deleteProject(w http.ResponseWriter, r *http.Request) error {
	return h.changeProject(w, r, func(_ auth.Identity, p *model.Project) error {
		if p.Services > 0 || p.Environments > 0 {
			return errs.Conflict("project %s still has %d service templates and %d environments: delete them first", p.Key, p.Services, p.Environments)
		}
		p.Status = model.StatusDeleted
		return nil
	})
}

// changeProject runs a change on the projectKey's project with write rights checked.
func (h *Handler) changeProject(w http.ResponseWriter, r *http.Request, fn func(auth.Identity, *model.Project) error) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	q, err := api.ParseQuery(r, "projectKey")
	if err != nil {
		return err
	}
	p, err := h.project(r, caller, q)
	if err != nil {
		return err
	}
	_, err = h.Store.UpdateProject(r.Context(), p.ID, func(p *model.Project) error {
		if err := caller.Writable("project", &p.Record); err != nil {
			return err
		}
		return fn(caller, p)
	})
	if err != nil {
		return err
	}
	api.WriteSuccess(w)
	return nil
}
