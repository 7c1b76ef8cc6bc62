package environment

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/store"
)

// CreateRequest is the create body (test and production).
type CreateRequest struct {
	Key        string            `json:"env_key"`
	Name       string            `json:"env_name"` // production only
	ClusterID  string            `json:"cluster_id"`
	Namespace  string            `json:"namespace"`
	RegistryID string            `json:"registry_id"`
	Configs    []model.EnvConfig `json:"env_configs"`
	Globals    []model.KV        `json:"global_variables"`
	Services   []ServiceRequest  `json:"services"`
	IsPublic   *bool             `json:"is_public"` // in the spec's example; environments take their project's visibility
	// AdoptNamespace (admins only) takes over an existing namespace envhub
	// did not create for this environment, or one kept after a delete.
	AdoptNamespace bool `json:"adopt_namespace"`
}

// ServiceRequest is one service of a create body.
type ServiceRequest struct {
	Name       string            `json:"service_name"`
	Type       string            `json:"type"`
	Containers []model.Container `json:"containers"`
	Variables  []model.Setting   `json:"variable_kvs"`
}

func (h *Handler) create(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req CreateRequest
		caller, q, idem, answered, err := h.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		p, err := h.Project(r.Context(), caller, q)
		if err != nil {
			return err
		}
		if err := caller.Writable("project", &p.Record); err != nil {
			return err
		}
		e, err := h.newEnvironment(r, k, caller, p, &req)
		if err != nil {
			return err
		}
		// Everything renders, or nothing is created: errors name what is wrong.
		out, err := h.Renderer.Render(r.Context(), e)
		if err != nil {
			return err
		}
		if err := h.namespaceFree(r.Context(), e); err != nil {
			return err
		}
		all, err := plan.Build(e, out, nil, func(string) bool { return true })
		if err != nil {
			return err
		}
		if err := h.CheckObjects(r.Context(), e, &all); err != nil {
			return err
		}
		if err := plan.SealConfigs(r.Context(), h.Sealer, e); err != nil {
			return err
		}
		opID, err := h.Begin(r, operation.Change{Kind: model.OpCreate, Machine: CreateMachine, Plan: &all, Idem: idem},
			func(st store.Start) error {
				return h.Store.CreateEnvironment(r.Context(), e, st, func(p *model.Project) error {
					if p.Status != model.StatusActive {
						return errs.NotFound("project", p.Key)
					}
					return caller.Writable("project", &p.Record)
				})
			})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}

// namespaceFree reads the cluster's identity, which reserves namespaces,
// and refuses (409) a namespace that exists unless an admin adopts it: an
// environment never moves into someone else's namespace.
func (h *Handler) namespaceFree(ctx context.Context, e *model.Environment) error {
	ctx, cancel := context.WithTimeout(ctx, operation.RequestTimeout) // all of it: the answer must beat API Gateway's 29 s
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return err
	}
	if e.ClusterUID, err = c.UID(ctx); err != nil {
		return credentialErr(e.ClusterID, err)
	}
	owner, retained, exists, err := c.NamespaceOwner(ctx, e.Namespace)
	switch {
	case err != nil:
		return credentialErr(e.ClusterID, err)
	case !exists:
		return nil
	case owner != "" && !retained:
		// Even an admin may not take a live environment's namespace.
		return errs.Conflict("namespace %s belongs to another environment", e.Namespace)
	case e.AdoptNamespace:
		return nil
	case retained:
		return errs.Conflict("namespace %s was kept when its environment was deleted: an admin may adopt it (adopt_namespace)", e.Namespace)
	case owner != "":
		return errs.Conflict("namespace %s belongs to another environment", e.Namespace)
	}
	return errs.Conflict("namespace %s already exists and envhub did not create it: an admin may adopt it (adopt_namespace)", e.Namespace)
}

// newEnvironment validates a create request into a new environment record.
func (h *Handler) newEnvironment(r *http.Request, k kind, caller auth.Identity, p *model.Project, req *CreateRequest) (*model.Environment, error) {
	if err := operation.CheckEnvKey("env_key", req.Key); err != nil {
		return nil, err
	}
	if k.envType == model.EnvTest && req.Name != "" {
		return nil, errs.Invalid("env_name", "is only for production environments")
	}
	if err := model.CheckName("env_name", req.Name, false); err != nil {
		return nil, err
	}
	if req.Namespace == "" {
		req.Namespace = p.Key + "-env-" + req.Key
	}
	if err := model.CheckKey("namespace", req.Namespace, 63); err != nil {
		return nil, err
	}
	if err := checkNamespace(caller, p, req.Namespace); err != nil {
		return nil, err
	}
	if req.IsPublic != nil && *req.IsPublic != (p.Visibility == model.Public) {
		return nil, errs.Invalid("is_public", "environments take their project's visibility, which is %s", p.Visibility)
	}
	if req.AdoptNamespace && !caller.Admin {
		return nil, errs.Forbidden("adopt_namespace: only an admin may adopt an existing namespace")
	}
	if err := h.checkCluster(r, caller, req.ClusterID); err != nil {
		return nil, err
	}
	if req.RegistryID != "" {
		if err := h.checkRegistry(r, caller, req.RegistryID); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	services := make([]model.EnvService, len(req.Services))
	for i, s := range req.Services {
		if err := model.CheckKey("services.service_name", s.Name, 63); err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, errs.Invalid("services", "service %q is listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Type != "" && s.Type != "k8s" {
			return nil, errs.Invalid("services.type", "must be k8s")
		}
		services[i] = model.EnvService{Name: s.Name, Containers: s.Containers, Variables: s.Variables}
	}
	keys := map[string]bool{}
	for _, g := range req.Globals {
		if g.Key == "" || keys[g.Key] {
			return nil, errs.Invalid("global_variables", "keys must be present and unique")
		}
		keys[g.Key] = true
	}
	name := req.Name
	if name == "" {
		name = req.Key
	}
	return &model.Environment{
		Record:    model.Record{ID: model.NewID(model.KindEnvironment), Owner: caller.Subject},
		ProjectID: p.ID, ProjectKey: p.Key, Key: req.Key, Name: name, Type: k.envType,
		ClusterID: req.ClusterID, Namespace: req.Namespace, AdoptNamespace: req.AdoptNamespace, RegistryID: req.RegistryID,
		Globals: req.Globals, Services: services, Configs: req.Configs,
		State: model.EnvCreating, UpdateBy: caller.Subject,
	}, nil
}

// checkCluster: a kubernetes runtime env the caller may read, with a credential attached.
func (h *Handler) checkCluster(r *http.Request, caller auth.Identity, id string) error {
	if err := api.CheckID("cluster_id", id, model.IDPrefix(model.KindRuntimeEnv)); err != nil {
		return err
	}
	env, err := h.Store.GetRuntimeEnv(r.Context(), id)
	if err != nil || !caller.CanRead(env.Owner, env.Visibility) || env.Status != model.StatusActive {
		return errs.Invalid("cluster_id", "runtime env %s does not exist", id)
	}
	if env.Runtime != model.Kubernetes {
		return errs.Invalid("cluster_id", "runtime env %s runs %s, not kubernetes", id, env.Runtime)
	}
	if env.CredentialID == "" {
		return errs.Invalid("cluster_id", "runtime env %s has no credential attached", id)
	}
	return nil
}

// checkRegistry: a docker registry credential of the caller's.
func (h *Handler) checkRegistry(r *http.Request, caller auth.Identity, id string) error {
	if err := api.CheckID("registry_id", id, model.IDPrefix(model.KindCredential)); err != nil {
		return err
	}
	c, err := h.Store.GetCredential(r.Context(), id)
	if err != nil || !caller.CanWrite(c.Owner) || c.Status != model.StatusActive {
		return errs.Invalid("registry_id", "credential %s does not exist", id)
	}
	if c.Runtime != model.Registry {
		return errs.Invalid("registry_id", "credential %s is not a docker registry credential", id)
	}
	return nil
}

// credentialErr: a cluster refusing the runtime env's credential is not the
// caller's fault (403 would say so), but a state the env's owner must fix.
func credentialErr(runtimeEnvID string, err error) error {
	if errors.Is(err, errs.ErrForbidden) {
		return errs.Conflict("cluster_id: the credential of runtime env %s may not read namespaces: %v", runtimeEnvID, err)
	}
	return err
}

// systemNamespaces are where clusters' own components live (or will, once
// installed): no tenant may take one before its operator does.
var systemNamespaces = []string{"default", "kube-*", "istio-*", "cert-manager", "ingress-nginx", "monitoring", "argocd", "flux-system",
	"gatekeeper-system", "kyverno", "calico-system", "tigera-operator", "metallb-system", "local-path-storage", "knative-*",
	"tekton-*", "linkerd*", "openshift*", "envhub*"}

// checkNamespace: a user's environments live in namespaces named
// <projectKey>-env-..., so no tenant squats a name a cluster component or
// another project will need (project keys never hold "-env"); admins may
// name any but the system ones Kubernetes itself uses.
func checkNamespace(caller auth.Identity, p *model.Project, ns string) error {
	if ns == "default" || strings.HasPrefix(ns, "kube-") {
		return errs.Invalid("namespace", "%s is a system namespace: environments get their own", ns)
	}
	if caller.Admin {
		return nil
	}
	for _, pattern := range systemNamespaces {
		if ok, _ := path.Match(pattern, ns); ok {
			return errs.Invalid("namespace", "%s is reserved for cluster components: only an admin may use it", ns)
		}
	}
	if !strings.HasPrefix(ns, p.Key+"-env-") {
		return errs.Invalid("namespace", "must start with %s-env- (the project key, then -env-)", p.Key)
	}
	return nil
}
