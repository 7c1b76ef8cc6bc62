// Package plan is what an operation applies: an environment's objects
// rendered from its project's service templates and settings, diffed against
// what the environment has applied, recorded sealed before anything runs.
package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

// Store is what rendering reads.
type Store interface {
	GetCredential(ctx context.Context, id string) (*model.Credential, error)
	TemplateByName(ctx context.Context, projectID, name string) (*model.ServiceTemplate, error)
}

// Opener decrypts credential content and sealed env configs (secrets.Sealer).
type Opener interface {
	Open(ctx context.Context, id string, sealed []byte) (map[string]string, error)
	OpenBytes(ctx context.Context, id string, sealed []byte) ([]byte, error)
}

// SealConfigs seals e's Secret configs, so their values are stored only
// encrypted (the plan, which holds them too, is sealed as well).
func SealConfigs(ctx context.Context, s Sealer, e *model.Environment) error {
	for i, c := range e.Configs {
		if c.Type != model.ConfigSecret || c.Sealed != nil {
			continue
		}
		sealed, err := s.SealBytes(ctx, e.SealID(), []byte(c.YAML))
		if err != nil {
			return fmt.Errorf("seal env config: %w", err)
		}
		e.Configs[i] = model.EnvConfig{Type: c.Type, Sealed: sealed}
	}
	return nil
}

// Renderer renders environments from the store.
type Renderer struct {
	Store  Store
	Opener Opener
}

// Templates reads the service template of each of e's services, in order,
// concurrently: an environment may hold many services.
func (d Renderer) Templates(ctx context.Context, e *model.Environment) ([]*model.ServiceTemplate, error) {
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
func (d Renderer) Render(ctx context.Context, e *model.Environment) (*render.Output, error) {
	in := render.Env{
		Scope:   render.Scope{Product: e.ProjectKey, EnvName: e.Key, Namespace: e.Namespace},
		Globals: map[string]string{},
	}
	for _, g := range e.Globals {
		in.Globals[g.Key] = g.Value
	}
	for _, c := range e.Configs {
		text := c.YAML
		if c.Sealed != nil {
			plain, err := d.Opener.OpenBytes(ctx, e.SealID(), c.Sealed)
			if err != nil {
				return nil, fmt.Errorf("open env config: %w", err)
			}
			text = string(plain)
		}
		in.Configs = append(in.Configs, render.EnvConfig{Type: c.Type, YAML: text})
	}
	templates, err := d.Templates(ctx, e)
	if err != nil {
		return nil, err
	}
	for i, s := range e.Services {
		t := templates[i]
		in.Services = append(in.Services, render.EnvService{Name: s.Name, Template: t.YAML, Vars: t.Variables, Settings: s.Variables,
			Overrides: Overrides(s)})
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

func (d Renderer) registry(ctx context.Context, id string) (*render.Registry, error) {
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

// Overrides are what the workload routes set on service s, for rendering.
func Overrides(s model.EnvService) render.Overrides {
	ov := render.Overrides{RestartedAt: s.RestartedAt, Replicas: map[string]int32{}}
	for _, c := range s.Containers {
		ov.Images = append(ov.Images, render.Image{Workload: c.Workload, Container: c.Name, Image: c.Image, Base: c.Base})
	}
	for _, r := range s.Replicas {
		ov.Replicas[r.Workload] = r.Replicas
	}
	return ov
}
