package environment

import (
	"context"
	"net/http"
	"slices"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/render"
)

// ListItem is one environment of a list, as the spec shows it.
type ListItem struct {
	EnvName    string `json:"env_name"`
	EnvKey     string `json:"env_key"`
	ClusterID  string `json:"cluster_id"`
	Namespace  string `json:"namespace"`
	Production bool   `json:"production"`
	RegistryID string `json:"registry_id"`
	Status     string `json:"status"`
	UpdateBy   string `json:"update_by"`
	UpdateTime int64  `json:"update_time"`
}

func (h *Handler) list(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil, api.PageParams...)
		if err != nil {
			return err
		}
		page, err := api.ParsePageSized(q, 100)
		if err != nil {
			return err
		}
		// The spec lists environments without paging: without page_number
		// every one is listed; with it, pages of page_size (default 100).
		all := q.Strings("page_number") == nil && q.Strings("next_token") == nil
		p, err := h.Project(r.Context(), caller, q)
		if err != nil {
			return err
		}
		var envs []model.Environment
		for {
			got, res, err := h.Store.ListEnvironments(r.Context(), p.ID, k.envType, page)
			if err != nil {
				return err
			}
			envs = append(envs, got...)
			if !all || !res.More {
				break
			}
			page.After, page.Number = res.Last, page.Number+1
		}
		out := make([]ListItem, len(envs))
		for i, e := range envs {
			out[i] = ListItem{e.Key, e.Key, e.ClusterID, e.Namespace, e.Type == model.EnvProduction, e.RegistryID, e.State, e.UpdateBy, e.Updated().Unix()}
			if e.Type == model.EnvProduction {
				out[i].EnvName = e.Name
			}
		}
		api.WriteJSON(w, out)
		return nil
	}
}

// Detail is an environment's detail with its live state.
type Detail struct {
	ProjectKey  string          `json:"project_key"`
	EnvKey      string          `json:"env_key"`
	EnvName     string          `json:"env_name"`
	UpdateBy    string          `json:"update_by"`
	UpdateTime  int64           `json:"update_time"`
	ClusterID   string          `json:"cluster_id"`
	Namespace   string          `json:"namespace"`
	RegistryID  string          `json:"registry_id"`
	Globals     []GlobalVar     `json:"global_variables"`
	Services    []ServiceDetail `json:"services"`
	Status      string          `json:"status"`
	Reason      string          `json:"reason,omitempty"`
	OperationID string          `json:"operation_id,omitempty"`      // running now
	LastOpID    string          `json:"last_operation_id,omitempty"` // the last that ended
}

// GlobalVar is a global variable with the services using it.
type GlobalVar struct {
	Key             string   `json:"key"`
	Value           string   `json:"value"`
	Type            string   `json:"type"`
	Options         []string `json:"options"`
	Desc            string   `json:"desc"`
	RelatedServices []string `json:"related_services"`
}

// VariableKV is a service variable in the detail: every variable its
// template defines, typed, with the value it renders with.
type VariableKV struct {
	Key       string `json:"key"`
	Value     string `json:"value"`
	Type      string `json:"type"`
	UseGlobal bool   `json:"use_global_variable"`
}

// ServiceDetail is a service of an environment with its live status.
type ServiceDetail struct {
	Name       string            `json:"service_name"`
	Containers []model.Container `json:"containers"`
	Variables  []VariableKV      `json:"variable_kvs"`
	Status     string            `json:"status"`
	Type       string            `json:"type"`
}

func (h *Handler) get(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, q, err := operation.Request(r, nil)
		if err != nil {
			return err
		}
		p, e, err := h.environment(r, k, caller, q)
		if err != nil {
			return err
		}
		d := Detail{ProjectKey: e.ProjectKey, EnvKey: e.Key, EnvName: e.Name, UpdateBy: e.UpdateBy, UpdateTime: e.Updated().Unix(),
			ClusterID: e.ClusterID, Namespace: e.Namespace, RegistryID: e.RegistryID, Status: e.State, Reason: e.Reason, OperationID: e.OperationID,
			LastOpID: e.LastOperation}
		d.Globals = globals(p, e)
		live := h.liveServices(r, e)
		unstable := false
		templates, err := h.Renderer.Templates(r.Context(), e)
		if err != nil {
			templates = make([]*model.ServiceTemplate, len(e.Services)) // a service removed from the project: show what is stored
		}
		d.Services = []ServiceDetail{}
		for i, s := range e.Services {
			st := live[s.Name]
			unstable = unstable || (st != "running" && st != "")
			if st == "" {
				st = "unknown"
			}
			d.Services = append(d.Services, ServiceDetail{s.Name, nonNil(s.Containers), variables(templates[i], e, s), st, "k8s"})
		}
		if d.Status == model.EnvSuccess && unstable {
			d.Status = "unstable"
		}
		api.WriteJSON(w, d)
		return nil
	}
}

// liveServices reads each service's status from the cluster: running when
// all its workloads are ready, unstable when some are not, pending while pods
// are pending, failed when a pod failed, unstart when it has no workload.
// An unreachable cluster leaves them unknown.
func (h *Handler) liveServices(r *http.Request, e *model.Environment) map[string]string {
	out := map[string]string{}
	ctx, cancel := context.WithTimeout(r.Context(), operation.RequestTimeout) // all of it: the answer must beat API Gateway's 29 s
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return out
	}
	ws, err := c.Workloads(ctx, e.Namespace, render.LabelEnv+"="+e.Key+","+render.LabelManagedBy+"="+render.ManagedBy)
	if err != nil {
		return out
	}
	for _, s := range e.Services {
		out[s.Name] = serviceStatus(s.Name, ws)
	}
	return out
}

func serviceStatus(name string, ws []cluster.Workload) string {
	status, found := "running", false
	for _, w := range ws {
		if w.Labels[render.LabelService] != name {
			continue
		}
		found = true
		for _, p := range w.Pods {
			switch p.Status.Phase {
			case "Failed":
				return "failed"
			case "Pending":
				status = "pending"
			}
		}
		if !w.IsReady() && status == "running" {
			status = "unstable"
		}
	}
	if !found {
		return "unstart"
	}
	return status
}

// variables lists a service's variables as its template defines them, with
// the value each renders with (render.Value); settings the template does not
// define (it changed since) are shown as stored.
func variables(t *model.ServiceTemplate, e *model.Environment, s model.EnvService) []VariableKV {
	var defs []model.Var
	if t != nil {
		defs = t.Variables
	}
	globals := map[string]string{}
	for _, g := range e.Globals {
		globals[g.Key] = g.Value
	}
	out := []VariableKV{}
	add := func(d model.Var) {
		var setting *model.Setting
		if i := slices.IndexFunc(s.Variables, func(x model.Setting) bool { return x.Key == d.Key }); i >= 0 {
			setting = &s.Variables[i]
		}
		value, _ := render.Value(d, setting, globals)
		out = append(out, VariableKV{Key: d.Key, Value: value, Type: d.Type, UseGlobal: setting != nil && setting.UseGlobal})
	}
	for _, d := range defs {
		add(d)
	}
	for _, x := range s.Variables {
		if !slices.ContainsFunc(defs, func(d model.Var) bool { return d.Key == x.Key }) {
			add(model.Var{Key: x.Key, Type: "string"})
		}
	}
	return out
}
