// Package label serves the runtime env label routes.
package label

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/page"
	"github.com/envhub/envhub/shared/store"
	"github.com/envhub/envhub/shared/view"
)

// Store is what the handlers need from the store.
type Store interface {
	CreateLabel(ctx context.Context, l *model.Label, check func(*model.RuntimeEnv) error) error
	UpdateLabel(ctx context.Context, id string, fn func(*model.RuntimeEnv, *model.Label) error) (*model.Label, error)
	ListLabels(ctx context.Context, l store.List) ([]model.Label, *store.Result, error)
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	GetRuntimeEnvs(ctx context.Context, ids []string) (map[string]model.RuntimeEnv, error)
}

var _ Store = (*store.Store)(nil)

// Handler serves the area's routes.
type Handler struct{ Store Store }

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	return map[string]api.HandlerFunc{
		"CreateRuntimeEnvLabel":    h.create,
		"DescribeRuntimeEnvLabels": h.describe,
		"ModifyRuntimeEnvLabel":    h.modify,
		"DeleteRuntimeEnvLabel":    h.delete,
	}
}

type idResponse struct {
	api.Meta
	ID string `json:"runtime_env_label_id"`
}

// CreateRequest is CreateRuntimeEnvLabel's body.
type CreateRequest struct {
	RuntimeEnvID string `json:"runtime_env_id"`
	Key          string `json:"label_key"`
	Value        string `json:"label_value"`
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	var req CreateRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	if req.RuntimeEnvID == "" {
		return errs.Invalid("runtime_env_id", "is required")
	}
	if err := api.CheckID("runtime_env_id", req.RuntimeEnvID, model.IDPrefix(model.KindRuntimeEnv)); err != nil {
		return err
	}
	if err := model.CheckLabel(req.Key, req.Value); err != nil {
		return err
	}
	l := &model.Label{
		Record:       model.Record{ID: model.NewID(model.KindLabel)},
		RuntimeEnvID: req.RuntimeEnvID, Key: req.Key, Value: req.Value,
	}
	// Labels change with their env's rights.
	if err := h.Store.CreateLabel(r.Context(), l, func(e *model.RuntimeEnv) error { return caller.Writable("runtime_env", &e.Record) }); err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: l.ID})
	return nil
}

// ModifyRequest is ModifyRuntimeEnvLabel's body; absent fields stay.
type ModifyRequest struct {
	Key     *string `json:"label_key"`
	Value   *string `json:"label_value"`
	Version *int64  `json:"version"`
}

func (h *Handler) modify(w http.ResponseWriter, r *http.Request) error {
	var req ModifyRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	return h.update(w, r, func(l *model.Label) error {
		if err := errs.Version("label", l.ID, l.Version, req.Version); err != nil {
			return err
		}
		if req.Key != nil {
			l.Key = *req.Key
		}
		if req.Value != nil {
			l.Value = *req.Value
		}
		return model.CheckLabel(l.Key, l.Value)
	})
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	if _, err := api.ParseQuery(r); err != nil {
		return err
	}
	return h.update(w, r, func(l *model.Label) error {
		l.Status = model.StatusDeleted
		return nil
	})
}

// update runs a label change with the caller's rights on the label's env checked.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, fn func(*model.Label) error) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	id, err := api.PathID(r, "runtime_env_label_id", model.IDPrefix(model.KindLabel))
	if err != nil {
		return err
	}
	_, err = h.Store.UpdateLabel(r.Context(), id, func(e *model.RuntimeEnv, l *model.Label) error {
		if l.Status == model.StatusDeleted || !caller.CanRead(e.Owner, e.Visibility) {
			return errs.NotFound("runtime_env_label", id)
		}
		if err := caller.Writable("runtime_env", &e.Record); err != nil {
			return err
		}
		return fn(l)
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: id})
	return nil
}

type describeResponse struct {
	api.Meta
	Set []view.LabelItem `json:"runtime_env_label_set"`
	page.Info
}

var describeParams = append([]string{"runtime_env_labels", "runtime_env_id", "verbose"}, api.PageParams...)

// ParseDescribe turns DescribeRuntimeEnvLabels' query into a store list
// request. Each runtime_env_labels item selects labels (any item may
// match): "key", "key=value", a label id, or a JSON object with any of
// runtime_env_label_id, label_key and label_value (the spec's Request Item).
func ParseDescribe(r *http.Request, caller auth.Identity) (store.List, bool, error) {
	l := store.List{Caller: caller}
	q, err := api.ParseQuery(r, describeParams...)
	if err != nil {
		return l, false, err
	}
	items := q.Strings("runtime_env_labels")
	if len(items) > 20 {
		return l, false, errs.Invalid("runtime_env_labels", "must hold at most 20 selectors")
	}
	byID := len(items) > 0 // every item only an id: read those labels by key
	for _, item := range items {
		sel, err := parseSelector(item)
		if err != nil {
			return l, false, err
		}
		l.Filter.Labels = append(l.Filter.Labels, sel)
		byID = byID && sel == store.LabelSel{ID: sel.ID}
	}
	if byID {
		for _, sel := range l.Filter.Labels {
			if !slices.Contains(l.IDs, sel.ID) {
				l.IDs = append(l.IDs, sel.ID)
			}
		}
	}
	if l.Parent, err = q.String("runtime_env_id"); err != nil {
		return l, false, err
	}
	if l.Parent != "" {
		if err := api.CheckID("runtime_env_id", l.Parent, model.IDPrefix(model.KindRuntimeEnv)); err != nil {
			return l, false, err
		}
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
	if l.Parent != "" {
		e, err := h.Store.GetRuntimeEnv(r.Context(), l.Parent)
		if err != nil {
			return err
		}
		if !caller.CanRead(e.Owner, e.Visibility) {
			return errs.NotFound("runtime_env", e.ID)
		}
	}
	labels, res, err := h.Store.ListLabels(r.Context(), l)
	if err != nil {
		return err
	}
	resp := &describeResponse{Set: make([]view.LabelItem, len(labels)), Info: l.Page.Info(res.Total, res.Last, res.More)}
	var envs map[string]model.RuntimeEnv
	if verbose {
		ids := make([]string, len(labels))
		for i, lb := range labels {
			ids[i] = lb.RuntimeEnvID
		}
		if envs, err = h.Store.GetRuntimeEnvs(r.Context(), ids); err != nil {
			return err
		}
	}
	for i := range labels {
		resp.Set[i] = view.OfLabel(&labels[i])
		if e, ok := envs[labels[i].RuntimeEnvID]; ok {
			ev := view.OfRuntimeEnv(&e, false)
			resp.Set[i].RuntimeEnv = &ev
		}
	}
	api.WriteOK(w, r, resp)
	return nil
}

// labelID is the form label ids are made in (model.NewID): an item of
// exactly this form is an id, though it would also be a valid key.
var labelID = regexp.MustCompile(`^rel-[a-z0-9]{16}$`)

// parseSelector reads one runtime_env_labels item.
func parseSelector(item string) (store.LabelSel, error) {
	if strings.HasPrefix(item, "{") {
		return parseObjectSelector(item)
	}
	if labelID.MatchString(item) {
		return store.LabelSel{ID: item}, nil
	}
	key, value, hasValue := strings.Cut(item, "=")
	if hasValue && value == "" {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "selector %q must be key, key=value, a label id or a JSON object", item)
	}
	check := value
	if !hasValue {
		check = "x"
	}
	if err := model.CheckLabel(key, check); err != nil {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "selector %q: %v", item, err)
	}
	return store.LabelSel{Key: key, Value: value}, nil
}

// parseObjectSelector reads the spec's Request Item form; unknown fields,
// non-string values, empty fields and an object with no field are refused.
func parseObjectSelector(item string) (store.LabelSel, error) {
	var obj struct {
		ID    *string `json:"runtime_env_label_id"`
		Key   *string `json:"label_key"`
		Value *string `json:"label_value"`
	}
	dec := json.NewDecoder(strings.NewReader(item))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "item %q must be a JSON object with string fields runtime_env_label_id, label_key, label_value", item)
	}
	if _, err := dec.Token(); err != io.EOF {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "item %q has data after its JSON object", item)
	}
	if obj.ID == nil && obj.Key == nil && obj.Value == nil {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "item %q must set runtime_env_label_id, label_key or label_value", item)
	}
	var sel store.LabelSel
	if obj.ID != nil {
		if err := api.CheckID("runtime_env_label_id", *obj.ID, model.IDPrefix(model.KindLabel)); err != nil {
			return sel, errs.Invalid("runtime_env_labels", "item %q: %v", item, err)
		}
		sel.ID = *obj.ID
	}
	// CheckLabel wants both; a placeholder stands for the one not given.
	key, value := "x", "x"
	if obj.Key != nil {
		key, sel.Key = *obj.Key, *obj.Key
	}
	if obj.Value != nil {
		value, sel.Value = *obj.Value, *obj.Value
	}
	if err := model.CheckLabel(key, value); err != nil {
		return store.LabelSel{}, errs.Invalid("runtime_env_labels", "item %q: %v", item, err)
	}
	return sel, nil
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return (&Handler{Store: d.Store}).Actions()
}
