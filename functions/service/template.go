package service

import (
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

// TemplateView is a service template as the API shows it.
type TemplateView struct {
	Name       string      `json:"service_name"`
	ProjectKey string      `json:"project_key"`
	YAML       string      `json:"yaml"`
	Variables  []model.Var `json:"variables"`
	CreateTime int64       `json:"create_time"`
	UpdateTime int64       `json:"update_time"`
	Version    int64       `json:"version"`
}

func viewTemplate(p *model.Project, st *model.ServiceTemplate) TemplateView {
	vars := st.Variables
	if vars == nil {
		vars = []model.Var{}
	}
	return TemplateView{st.Name, p.Key, st.YAML, vars, st.CreateTime.Unix(), st.Updated().Unix(), st.Version}
}

// CreateTemplateRequest is the create body.
type CreateTemplateRequest struct {
	Name      string      `json:"service_name"`
	YAML      string      `json:"yaml"`
	Variables []model.Var `json:"variables"`
}

func (h *Handler) createTemplate(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	q, err := api.ParseQuery(r, "projectKey")
	if err != nil {
		return err
	}
	var req CreateTemplateRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	if err := checkTemplate(req.Name, req.YAML, req.Variables); err != nil {
		return err
	}
	p, err := h.project(r, caller, q)
	if err != nil {
		return err
	}
	st := &model.ServiceTemplate{Record: model.Record{ID: model.NewID(model.KindTemplate)}, ProjectID: p.ID,
		Name: req.Name, YAML: req.YAML, Variables: req.Variables}
	err = h.Store.CreateTemplate(r.Context(), st, func(p *model.Project) error {
		if p.Status != model.StatusActive {
			return errs.NotFound("project", p.Key)
		}
		return caller.Writable("project", &p.Record)
	})
	if err != nil {
		return err
	}
	api.WriteSuccess(w)
	return nil
}

// checkTemplate validates a template on save: it parses, renders with its
// defaults, and every document is a Kubernetes object with kind and name.
func checkTemplate(name, yaml string, vars []model.Var) error {
	if err := model.CheckKey("service_name", name, 63); err != nil {
		return err
	}
	if yaml == "" {
		return errs.Invalid("yaml", "is required")
	}
	return render.Validate(name, yaml, vars)
}

// template reads the projectKey's project and the path's service template.
func (h *Handler) template(r *http.Request, caller auth.Identity) (*model.Project, *model.ServiceTemplate, error) {
	q, err := api.ParseQuery(r, "projectKey")
	if err != nil {
		return nil, nil, err
	}
	name := r.PathValue("serviceName")
	if err := model.CheckKey("serviceName", name, 63); err != nil {
		return nil, nil, err
	}
	p, err := h.project(r, caller, q)
	if err != nil {
		return nil, nil, err
	}
	st, err := h.Store.TemplateByName(r.Context(), p.ID, name)
	if err != nil {
		return nil, nil, err
	}
	return p, st, nil
}

func (h *Handler) getTemplate(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	p, st, err := h.template(r, caller)
	if err != nil {
		return err
	}
	api.WriteJSON(w, viewTemplate(p, st))
	return nil
}

func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	q, err := api.ParseQuery(r, append([]string{"projectKey"}, api.PageParams...)...)
	if err != nil {
		return err
	}
	page, err := api.ParsePage(q)
	if err != nil {
		return err
	}
	p, err := h.project(r, caller, q)
	if err != nil {
		return err
	}
	sts, res, err := h.Store.ListTemplates(r.Context(), p.ID, page)
	if err != nil {
		return err
	}
	out := struct {
		Total     int            `json:"total"`
		Services  []TemplateView `json:"services"`
		NextToken string         `json:"next_token,omitempty"`
	}{Total: res.Total, Services: make([]TemplateView, len(sts)), NextToken: page.Info(res.Total, res.Last, res.More).NextToken}
	for i := range sts {
		out.Services[i] = viewTemplate(p, &sts[i])
	}
	api.WriteJSON(w, out)
	return nil
}

// UpdateTemplateRequest is the update body; absent fields stay.
type UpdateTemplateRequest struct {
	YAML      *string      `json:"yaml"`
	Variables *[]model.Var `json:"variables"`
	Version   *int64       `json:"version"`
}

func (h *Handler) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	var req UpdateTemplateRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	return h.changeTemplate(w, r, func(st *model.ServiceTemplate) error {
		if err := errs.Version("service", st.Name, st.Version, req.Version); err != nil {
			return err
		}
		set(&st.YAML, req.YAML)
		if req.Variables != nil {
			st.Variables = *req.Variables
		}
		return checkTemplate(st.Name, st.YAML, st.Variables)
	})
}

func (h *Handler) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	return h.changeTemplate(w, r, func(st *model.ServiceTemplate) error {
		st.Status = model.StatusDeleted
		return nil
	})
}

// changeTemplate runs a change on the path's template with the caller's
// write rights on its project checked in the same transaction.
func (h *Handler) changeTemplate(w http.ResponseWriter, r *http.Request, fn func(*model.ServiceTemplate) error) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	_, st, err := h.template(r, caller)
	if err != nil {
		return err
	}
	err = h.Store.UpdateTemplate(r.Context(), st, func(p *model.Project, st *model.ServiceTemplate) error {
		if p.Status != model.StatusActive || st.Status != model.StatusActive {
			return errs.NotFound("service", st.Name)
		}
		if err := caller.Writable("project", &p.Record); err != nil {
			return err
		}
		return fn(st)
	})
	if err != nil {
		return err
	}
	api.WriteSuccess(w)
	return nil
}
