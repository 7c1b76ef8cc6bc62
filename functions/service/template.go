package service

import (
	"net/http"
	"reflect"
	"strconv"

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
	if err := checkTemplateInput(req.Name, req.YAML); err != nil {
		return err
	}
	// Rendering costs up to a second and 64 MiB: only a caller who may
	// write to the project gets to make the function do it.
	p, err := h.project(r, caller, q)
	if err != nil {
		return err
	}
	if err := caller.Writable("project", &p.Record); err != nil {
		return err
	}
	if err := validate(req.Name, req.YAML, req.Variables); err != nil {
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

// checkTemplateInput is what a template must be before it is rendered.
func checkTemplateInput(name, yaml string) error {
	if err := model.CheckKey("service_name", name, 63); err != nil {
		return err
	}
	if yaml == "" {
		return errs.Invalid("yaml", "is required")
	}
	return nil
}

// validate checks a template on save: it parses, renders with its defaults,
// and every document is a Kubernetes object with kind and name. A variable
// so that tests can count renders.
var validate = render.Validate

// template reads the projectKey's project and the path's service template.
func (h *Handler) template(r *http.Request, caller auth.Identity, extra ...string) (*model.Project, *model.ServiceTemplate, error) {
	q, err := api.ParseQuery(r, append([]string{"projectKey"}, extra...)...)
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
	var checked *model.ServiceTemplate // what last rendered fine: a retry renders only if the template changed meanwhile
	return h.changeTemplate(w, r, false, func(st *model.ServiceTemplate) error {
		if err := errs.Version("service", st.Name, st.Version, req.Version); err != nil {
			return err
		}
		set(&st.YAML, req.YAML)
		if req.Variables != nil {
			st.Variables = *req.Variables
		}
		if checked != nil && checked.YAML == st.YAML && reflect.DeepEqual(checked.Variables, st.Variables) {
			return nil
		}
		if err := checkTemplateInput(st.Name, st.YAML); err != nil {
			return err
		}
		if err := validate(st.Name, st.YAML, st.Variables); err != nil {
			return err
		}
		checked = &model.ServiceTemplate{YAML: st.YAML, Variables: st.Variables}
		return nil
	})
}

// deleteTemplate refuses (409, naming them) while environments use the
// template, unless force=true: their services then keep what they run but
// cannot change until the template is back.
func (h *Handler) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	force := false
	if v := r.URL.Query().Get("force"); v != "" {
		var err error
		if force, err = strconv.ParseBool(v); err != nil {
			return errs.Invalid("force", "must be true or false")
		}
	}
	return h.changeTemplate(w, r, force, func(st *model.ServiceTemplate) error {
		st.Status = model.StatusDeleted
		return nil
	})
}

// changeTemplate runs a change on the path's template with the caller's
// write rights on its project checked first, then again in the same
// transaction, before fn (which may render) runs.
func (h *Handler) changeTemplate(w http.ResponseWriter, r *http.Request, force bool, fn func(*model.ServiceTemplate) error) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	var extra []string
	if r.Method == http.MethodDelete {
		extra = append(extra, "force")
	}
	p, st, err := h.template(r, caller, extra...)
	if err != nil {
		return err
	}
	if err := caller.Writable("project", &p.Record); err != nil {
		return err
	}
	err = h.Store.UpdateTemplate(r.Context(), st, force, func(p *model.Project, st *model.ServiceTemplate) error {
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
