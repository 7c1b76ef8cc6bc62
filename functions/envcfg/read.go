package envcfg

import (
	"context"
	"errors"
	"net/http"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// ListItem is one config of a list, as the spec shows it.
type ListItem struct {
	Name        string `json:"name"`
	EnvName     string `json:"env_name"`
	ProjectName string `json:"project_name"`
	Type        string `json:"common_env_cfg_type"`
	UpdateTime  int64  `json:"update_time"`
}

// list lists the live objects of a type in the environment's namespace:
// envhub's and others', sorted by name.
func (h *Handler) list(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, "type")
		if err != nil {
			return err
		}
		raw, err := q.String("type")
		if err != nil {
			return err
		}
		t, err := typeOf("type", raw)
		if err != nil {
			return err
		}
		_, e, err := h.Environment(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout)
		defer cancel()
		c, err := h.Connector.Connect(ctx, e.ClusterID)
		if err != nil {
			return err
		}
		objs, err := c.ListObjects(ctx, t.APIVersion, t.Kind, e.Namespace)
		if err != nil {
			return err
		}
		out := make([]ListItem, 0, len(objs))
		for i := range objs {
			out = append(out, ListItem{Name: objs[i].GetName(), EnvName: envName(e), ProjectName: e.ProjectKey, Type: t.Name, UpdateTime: updateTime(&objs[i])})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		api.WriteJSON(w, out)
		return nil
	}
}

// envName is an environment's name as lists show it: a production
// environment's own name, a test environment's key.
func envName(e *model.Environment) string {
	if e.Type == model.EnvProduction && e.Name != "" {
		return e.Name
	}
	return e.Key
}

// updateTime is when an object last changed: the latest time a manager
// wrote it, else its creation (unix seconds).
func updateTime(o *unstructured.Unstructured) int64 {
	latest := o.GetCreationTimestamp().Unix()
	for _, m := range o.GetManagedFields() {
		if m.Time != nil && m.Time.Unix() > latest {
			latest = m.Time.Unix()
		}
	}
	return latest
}

// Detail is one config's detail, as the spec shows it.
type Detail struct {
	Name         string    `json:"name"`
	Type         string    `json:"common_env_cfg_type"`
	CreatedTime  int64     `json:"created_time"`
	EnvKey       string    `json:"env_key"`
	ProductKey   string    `json:"product_key"`
	YAML         string    `json:"yaml_data"`
	SourceDetail *struct{} `json:"source_detail"` // configs imported from a code repository: none in envhub
}

// get shows a config: the environment's as stored, another live object of
// the namespace as it is there (without what the server owns); a Secret's
// values always masked.
func (h *Handler) get(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, "type")
		if err != nil {
			return err
		}
		t, name, err := target(r, q)
		if err != nil {
			return err
		}
		_, e, err := h.Environment(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		list, err := h.configs(r.Context(), e)
		if err != nil {
			return err
		}
		cur := find(list, t, name)
		live, err := h.live(r.Context(), e, t, name)
		switch {
		case errors.Is(err, errs.ErrNotFound):
			live = nil // not applied (yet), or not there at all
		case err != nil && cur == nil:
			return err
		case err != nil:
			live = nil // the stored config is shown even when the cluster does not answer
		}
		d := Detail{Name: name, Type: t.Name, EnvKey: e.Key, ProductKey: e.ProjectKey}
		switch {
		case cur != nil:
			d.YAML, err = shown(t, cur.YAML, cur.Obj)
		case live != nil:
			d.YAML, err = cleaned(t, live)
		default:
			return errs.NotFound("env config "+t.Name, name)
		}
		if err != nil {
			return err
		}
		if live != nil {
			d.CreatedTime = live.GetCreationTimestamp().Unix()
		}
		api.WriteJSON(w, map[string]Detail{t.DetailKey: d})
		return nil
	}
}
