// Package envctl assembles what operating an environment needs from the
// store: its rendered objects (from the project's service templates) and a
// connection to its cluster. The environment and envflow functions share it.
package envctl

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/render"
)

// Store is what envctl reads.
type Store interface {
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	GetCredential(ctx context.Context, id string) (*model.Credential, error)
	TemplateByName(ctx context.Context, projectID, name string) (*model.ServiceTemplate, error)
}

// Deps are envctl's dependencies.
type Deps struct {
	Store  Store
	Opener cluster.Opener
	Policy netguard.Policy
}

// Templates reads the service template of each of e's services, in order,
// concurrently: an environment may hold many services.
func (d Deps) Templates(ctx context.Context, e *model.Environment) ([]*model.ServiceTemplate, error) {
	templates := make([]*model.ServiceTemplate, len(e.Services))
	failures := make([]error, len(e.Services))
	var wg sync.WaitGroup
	for i, s := range e.Services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			templates[i], failures[i] = d.Store.TemplateByName(ctx, e.ProjectID, s.Name)
		}()
	}
	wg.Wait()
	for i, s := range e.Services {
		if errors.Is(failures[i], errs.ErrNotFound) {
			return nil, fmt.Errorf("%w: services: project %s has no service %q", errs.ErrInvalid, e.ProjectKey, s.Name)
		}
		if failures[i] != nil {
			return nil, failures[i]
		}
	}
	return templates, nil
}

// Render renders every config and service of e; any error is a 400 naming
// what is wrong, before anything touches the cluster.
func (d Deps) Render(ctx context.Context, e *model.Environment) (*render.Output, error) {
	in := render.Env{
		Scope:   render.Scope{Product: e.ProjectKey, EnvName: e.Key, Namespace: e.Namespace},
		Globals: map[string]string{},
	}
	for _, g := range e.Globals {
		in.Globals[g.Key] = g.Value
	}
	for _, c := range e.Configs {
		in.Configs = append(in.Configs, render.EnvConfig{Type: c.Type, YAML: c.YAML})
	}
	templates, err := d.Templates(ctx, e)
	if err != nil {
		return nil, err
	}
	for i, s := range e.Services {
		t := templates[i]
		images := map[string]string{}
		for _, c := range s.Containers {
			images[c.Name] = c.Image
		}
		in.Services = append(in.Services, render.EnvService{Name: s.Name, Template: t.YAML, Vars: t.Variables, Settings: s.Variables, Images: images})
	}
	if e.RegistryID != "" {
		reg, err := d.registry(ctx, e.RegistryID)
		if err != nil {
			return nil, err
		}
		in.Registry = reg
	}
	return render.Environment(in)
}

func (d Deps) registry(ctx context.Context, id string) (*render.Registry, error) {
	c, err := d.Store.GetCredential(ctx, id)
	if err != nil || c.Status != model.StatusActive {
		return nil, errs.Invalid("registry_id", "credential %s does not exist", id)
	}
	content, err := d.Opener.Open(ctx, c.ID, c.Sealed)
	if err != nil {
		return nil, fmt.Errorf("open registry credential: %w", err)
	}
	if content["username"] == "" || content["password"] == "" || content["server"] == "" {
		return nil, errs.Invalid("registry_id", "credential %s is not a docker registry credential {server, username, password}", id)
	}
	return &render.Registry{Server: content["server"], Username: content["username"], Password: content["password"]}, nil
}

// connections keeps clients (and their discovery caches) across requests
// and tasks of a warm process, keyed by everything that would change them.
var connections sync.Map

// Cluster connects to the environment's kubernetes runtime env.
func (d Deps) Cluster(ctx context.Context, clusterID string) (*cluster.Cluster, error) {
	env, err := d.Store.GetRuntimeEnv(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	if env.CredentialID == "" {
		return nil, errs.Conflict("cluster_id: runtime env %s has no credential attached", clusterID)
	}
	cred, err := d.Store.GetCredential(ctx, env.CredentialID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s@%d|%s@%d|%v", env.ID, env.Version, cred.ID, cred.Version, d.Policy)
	if c, ok := connections.Load(key); ok {
		return c.(*cluster.Cluster), nil
	}
	c, err := cluster.ForRuntimeEnv(ctx, env, cred, d.Opener, d.Policy)
	if err != nil {
		return nil, err
	}
	connections.Store(key, c)
	return c, nil
}

// Record adds what an apply returned to the objects e remembers applying,
// once each, so that deleting e removes them.
func Record(e *model.Environment, refs []cluster.Ref) {
	for _, r := range refs {
		ref := model.AppliedRef{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
		if !slices.Contains(e.Applied, ref) {
			e.Applied = append(e.Applied, ref)
		}
	}
}
