package runtimeenv

import (
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/view"
)

type describeResponse struct {
	api.Meta
	Set []view.RuntimeEnv `json:"runtime_env_set"`
	page.Info
}

var describeParams = append([]string{"runtime", "search_word", "status", "runtime_env_label_ids",
	"runtime_env_ids", "visibility", "owners", "verbose"}, api.PageParams...)

// DescribeQuery is DescribeRuntimeEnvs' query, parsed.
type DescribeQuery struct {
	store.List
	Verbose  bool
	LabelIDs []string // envs carrying any of these labels
}

// ParseDescribe turns DescribeRuntimeEnvs' query into a store list request.
func ParseDescribe(r *http.Request, caller auth.Identity) (DescribeQuery, error) {
	l := store.List{Caller: caller}
	q, err := api.ParseQuery(r, describeParams...)
	if err != nil {
		return DescribeQuery{}, err
	}
	runtime, err := q.String("runtime")
	if err != nil {
		return DescribeQuery{}, err
	}
	if runtime != "" {
		if err := model.CheckRuntime(runtime); err != nil {
			return DescribeQuery{}, err
		}
		l.Filter.Equals = map[string]string{"runtime": runtime}
	}
	if l.Filter.Search, err = q.String("search_word"); err != nil {
		return DescribeQuery{}, err
	}
	if err := model.CheckSearch(l.Filter.Search); err != nil {
		return DescribeQuery{}, err
	}
	for _, s := range q.Strings("status") {
		if s != model.StatusActive && s != model.StatusDeleted {
			return DescribeQuery{}, errs.Invalid("status", "values must be %q or %q", model.StatusActive, model.StatusDeleted)
		}
		if !slices.Contains(l.Statuses, s) {
			l.Statuses = append(l.Statuses, s)
		}
	}
	if l.Visibility, err = q.String("visibility"); err != nil {
		return DescribeQuery{}, err
	}
	if l.Visibility != "" {
		if err := model.CheckVisibility(l.Visibility); err != nil {
			return DescribeQuery{}, err
		}
	}
	l.Owners = q.Strings("owners")
	if err := model.CheckOwners("owners", l.Owners); err != nil {
		return DescribeQuery{}, err
	}
	if ids := q.Strings("runtime_env_ids"); len(ids) > 0 {
		if err := api.CheckIDs("runtime_env_ids", ids, model.IDPrefix(model.KindRuntimeEnv)); err != nil {
			return DescribeQuery{}, err
		}
		l.IDs = ids
	}
	labels := q.Strings("runtime_env_label_ids")
	if err := api.CheckIDs("runtime_env_label_ids", labels, model.IDPrefix(model.KindLabel)); err != nil {
		return DescribeQuery{}, err
	}
	verbose, err := q.Verbose()
	if err != nil {
		return DescribeQuery{}, err
	}
	l.Page, err = api.ParsePage(q)
	if err != nil {
		return DescribeQuery{}, err
	}
	return DescribeQuery{List: l, Verbose: verbose, LabelIDs: labels}, nil
}

func (h *Handler) describe(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	d, err := ParseDescribe(r, caller)
	if err != nil {
		return err
	}
	l, verbose := d.List, d.Verbose
	if labels := d.LabelIDs; len(labels) > 0 {
		// Labels name their env: the envs carrying any of them, within runtime_env_ids if given.
		envs, err := h.Store.LabelRuntimeEnvs(r.Context(), labels)
		if err != nil {
			return err
		}
		if l.IDs != nil {
			envs = slices.DeleteFunc(envs, func(id string) bool { return !slices.Contains(l.IDs, id) })
		}
		l.IDs = append([]string{}, envs...)
	}
	envs, res, err := h.Store.ListRuntimeEnvs(r.Context(), l)
	if err != nil {
		return err
	}
	resp := &describeResponse{Set: make([]view.RuntimeEnv, len(envs)), Info: l.Page.Info(res.Total, res.Last, res.More)}
	for i := range envs {
		resp.Set[i] = view.OfRuntimeEnv(&envs[i], verbose)
	}
	api.WriteOK(w, r, resp)
	return nil
}
