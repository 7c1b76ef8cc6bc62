package credential

import (
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/view"
)

type describeResponse struct {
	api.Meta
	Set []view.Credential `json:"runtime_env_credential_set"`
	page.Info
}

var describeParams = append([]string{"runtime_env_credential_ids", "search_word", "owner", "verbose"}, api.PageParams...)

// ParseDescribe turns DescribeRuntimeEnvCredentials' query into a store list request.
func ParseDescribe(r *http.Request, caller auth.Identity) (store.List, bool, error) {
	l := store.List{Caller: caller}
	q, err := api.ParseQuery(r, describeParams...)
	if err != nil {
		return l, false, err
	}
	if ids := q.Strings("runtime_env_credential_ids"); len(ids) > 0 {
		if err := api.CheckIDs("runtime_env_credential_ids", ids, model.IDPrefix(model.KindCredential)); err != nil {
			return l, false, err
		}
		l.IDs = ids
	}
	if l.Filter.Search, err = q.String("search_word"); err != nil {
		return l, false, err
	}
	if err := model.CheckSearch(l.Filter.Search); err != nil {
		return l, false, err
	}
	owner, err := q.String("owner")
	if err != nil {
		return l, false, err
	}
	if owner != "" {
		if err := model.CheckOwner("owner", owner); err != nil {
			return l, false, err
		}
		l.Owners = []string{owner}
	}
	verbose, err := q.Verbose()
	if err != nil {
		return l, false, err
	}
	l.Page, err = api.ParsePage(q)
	return l, verbose, err
}

func (h *Handler) describe(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	l, verbose, err := ParseDescribe(r, caller)
	if err != nil {
		return err
	}
	creds, res, err := h.Store.ListCredentials(r.Context(), l)
	if err != nil {
		return err
	}
	resp := &describeResponse{Set: make([]view.Credential, len(creds)), Info: l.Page.Info(res.Total, res.Last, res.More)}
	var envs map[string]model.RuntimeEnv
	if verbose {
		var ids []string
		for _, c := range creds {
			ids = append(ids, c.RuntimeEnvIDs...)
		}
		if envs, err = h.Store.GetRuntimeEnvs(r.Context(), ids); err != nil {
			return err
		}
	}
	for i := range creds {
		v := view.OfCredential(&creds[i])
		for _, id := range creds[i].RuntimeEnvIDs {
			if e, ok := envs[id]; ok && caller.CanRead(e.Owner, e.Visibility) {
				ev := view.OfRuntimeEnv(&e, false)
				v.RuntimeEnvs = append(v.RuntimeEnvs, ev)
			}
		}
		if len(v.RuntimeEnvs) > 0 {
			v.RuntimeEnv = &v.RuntimeEnvs[0]
		}
		resp.Set[i] = v
	}
	api.WriteOK(w, r, resp)
	return nil
}
