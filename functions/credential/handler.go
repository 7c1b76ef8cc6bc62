// Package credential serves the credential routes: create, describe, modify,
// delete, and attaching credentials to runtime envs and detaching them.
package credential

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/netguard"
	"github.com/envhub/envhub/shared/secrets"
	"github.com/envhub/envhub/shared/store"
)

// Store is what the handlers need from the store.
type Store interface {
	CreateCredential(ctx context.Context, c *model.Credential) error
	GetCredential(ctx context.Context, id string) (*model.Credential, error)
	UpdateCredential(ctx context.Context, id string, fn func(*model.Credential) error) (*model.Credential, error)
	ListCredentials(ctx context.Context, l store.List) ([]model.Credential, *store.Result, error)
	GetRuntimeEnv(ctx context.Context, id string) (*model.RuntimeEnv, error)
	GetRuntimeEnvs(ctx context.Context, ids []string) (map[string]model.RuntimeEnv, error)
	Attach(ctx context.Context, envID, credID string, check func(*model.RuntimeEnv, *model.Credential) error) error
	Detach(ctx context.Context, envID, credID string, check func(*model.RuntimeEnv, *model.Credential) error) error
}

// Sealer encrypts credential content at rest.
type Sealer interface {
	Seal(ctx context.Context, id string, fields map[string]string) ([]byte, error)
	Open(ctx context.Context, id string, sealed []byte) (map[string]string, error)
}

// Prober checks live that a credential reaches a runtime env.
type Prober interface {
	Credential(ctx context.Context, env *model.RuntimeEnv, content map[string]string) error
}

var (
	_ Store  = (*store.Store)(nil)
	_ Sealer = secrets.Sealer{}
)

// Handler serves the area's routes.
type Handler struct {
	Store  Store
	Sealer Sealer
	Probe  Prober
	Policy netguard.Policy
}

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	return map[string]api.HandlerFunc{
		"CreateRuntimeEnvCredential":     h.create,
		"DescribeRuntimeEnvCredentials":  h.describe,
		"ModifyRuntimeEnvCredential":     h.modify,
		"DeleteRuntimeEnvCredential":     h.delete,
		"AttachCredentialToRuntimeEnv":   h.attach,
		"DetachCredentialFromRuntimeEnv": h.detach,
	}
}

type idResponse struct {
	api.Meta
	ID string `json:"runtime_env_credential_id"`
}

// CreateRequest is CreateRuntimeEnvCredential's body.
type CreateRequest struct {
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Content     model.ContentInput `json:"content"` // an object, or a string holding one
	Owner       string             `json:"owner"`
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
	if err := model.CheckName("name", req.Name, false); err != nil {
		return err
	}
	if err := model.CheckDescription(req.Description); err != nil {
		return err
	}
	if req.Owner != "" {
		if err := model.CheckOwner("owner", req.Owner); err != nil {
			return err
		}
	}
	owner, err := caller.Owner(req.Owner)
	if err != nil {
		return err
	}
	fields, err := req.Content.Fields()
	if err != nil {
		return err
	}
	content, err := h.parseContent(fields)
	if err != nil {
		return err
	}
	if err := h.probeOwn(r.Context(), content); err != nil {
		return err
	}
	c := &model.Credential{Record: model.Record{ID: model.NewID(model.KindCredential), Owner: owner}, Name: req.Name, Description: req.Description}
	s, err := h.seal(r.Context(), c.ID, content)
	if err != nil {
		return err
	}
	s.setOn(c)
	if err := h.Store.CreateCredential(r.Context(), c); err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: c.ID})
	return nil
}

// parseContent validates content, including any server URL it names.
func (h *Handler) parseContent(raw map[string]string) (*model.Content, error) {
	content, err := model.ParseContent(raw)
	if err != nil {
		return nil, err
	}
	if server, ok := content.Public["server"]; ok && content.Runtime == model.Kubernetes {
		field := "content.server"
		if _, ok := raw["kubeconfig"]; ok {
			field = "content.kubeconfig"
		}
		if _, err := h.Policy.CheckURL(server); err != nil {
			return nil, errs.Invalid(field, "server: %v", err)
		}
	}
	return content, nil
}

// sealed is content ready to store: shown fields, secret names, encrypted whole.
type sealed struct {
	*model.Content
	data []byte
}

func (h *Handler) seal(ctx context.Context, id string, content *model.Content) (*sealed, error) {
	data, err := h.Sealer.Seal(ctx, id, content.All)
	if err != nil {
		return nil, err
	}
	return &sealed{content, data}, nil
}

func (s *sealed) setOn(c *model.Credential) {
	c.Runtime, c.Public, c.SecretKeys, c.Sealed = s.Runtime, s.Public, s.Secret, s.data
}

// ModifyRequest is ModifyRuntimeEnvCredential's body; absent fields stay.
type ModifyRequest struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Content     model.ContentInput `json:"content"` // an object, or a string holding one
	Owner       *string            `json:"owner"`
	Version     *int64             `json:"version"`
}

func (h *Handler) modify(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	id, err := api.PathID(r, "runtime_env_credential_id", model.IDPrefix(model.KindCredential))
	if err != nil {
		return err
	}
	var req ModifyRequest
	if err := api.DecodeBody(r, &req); err != nil {
		return err
	}
	if req.Name != nil {
		if err := model.CheckName("name", *req.Name, false); err != nil {
			return err
		}
	}
	if req.Description != nil {
		if err := model.CheckDescription(*req.Description); err != nil {
			return err
		}
	}
	if req.Owner != nil {
		if err := model.CheckOwner("owner", *req.Owner); err != nil {
			return err
		}
		if _, err := caller.Owner(*req.Owner); err != nil {
			return err
		}
	}
	var content *model.Content
	var newContent *sealed
	var probed []string // envs the new content was validated against
	if req.Content.Given() {
		fields, err := req.Content.Fields()
		if err != nil {
			return err
		}
		if content, err = h.parseContent(fields); err != nil {
			return err
		}
		// Every env it serves is probed, one after another: all within 20 s.
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		probed, err = h.probeAttached(ctx, caller, id, content)
		cancel()
		if err != nil {
			return err
		}
		if newContent, err = h.seal(r.Context(), id, content); err != nil {
			return err
		}
	}
	_, err = h.Store.UpdateCredential(r.Context(), id, func(c *model.Credential) error {
		if err := usable(caller, c); err != nil {
			return err
		}
		if err := errs.Version("credential", id, c.Version, req.Version); err != nil {
			return err
		}
		if content != nil {
			if len(c.RuntimeEnvIDs) > 0 && content.Runtime != c.Runtime {
				return errs.Invalid("content", "is for %s but the credential is attached to %s runtime envs", content.Runtime, c.Runtime)
			}
			for _, env := range c.RuntimeEnvIDs {
				if !slices.Contains(probed, env) {
					return errs.Conflict("credential %s was attached to runtime env %s while the new content was being validated: retry", id, env)
				}
			}
			newContent.setOn(c)
		}
		if req.Name != nil {
			c.Name = *req.Name
		}
		if req.Description != nil {
			c.Description = *req.Description
		}
		if req.Owner != nil {
			c.Owner = *req.Owner
		}
		return nil
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: id})
	return nil
}

// probeAttached validates new content against every env the credential
// serves, or, for a kubernetes credential serving none, its own server.
// It returns the ids of the envs probed.
func (h *Handler) probeAttached(ctx context.Context, caller auth.Identity, id string, content *model.Content) ([]string, error) {
	c, err := h.Store.GetCredential(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := usable(caller, c); err != nil {
		return nil, err
	}
	if len(c.RuntimeEnvIDs) == 0 {
		return nil, h.probeOwn(ctx, content)
	}
	envs, err := h.Store.GetRuntimeEnvs(ctx, c.RuntimeEnvIDs)
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		if e.Runtime == content.Runtime {
			if err := h.Probe.Credential(ctx, &e, content.All); err != nil {
				return nil, err
			}
		}
	}
	return c.RuntimeEnvIDs, nil
}

// probeOwn validates a kubernetes credential live against the server it
// names (it has no runtime env yet); QingCloud needs an env's zone, so its
// credentials are checked on attach.
func (h *Handler) probeOwn(ctx context.Context, content *model.Content) error {
	if content.Runtime != model.Kubernetes {
		return nil
	}
	env := &model.RuntimeEnv{Runtime: model.Kubernetes, Endpoint: content.Public["server"]}
	return h.Probe.Credential(ctx, env, content.All)
}

// usable: credentials are private, so only their owner and admins see and use them.
func usable(caller auth.Identity, c *model.Credential) error {
	return caller.Writable("runtime_env_credential", &c.Record)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return err
	}
	id, err := api.PathID(r, "runtime_env_credential_id", model.IDPrefix(model.KindCredential))
	if err != nil {
		return err
	}
	if _, err := api.ParseQuery(r); err != nil {
		return err
	}
	_, err = h.Store.UpdateCredential(r.Context(), id, func(c *model.Credential) error {
		if err := usable(caller, c); err != nil {
			return err
		}
		if len(c.RuntimeEnvIDs) > 0 {
			return errs.Conflict("credential %s is attached to runtime envs %v: detach it first", id, c.RuntimeEnvIDs)
		}
		c.Status = model.StatusDeleted
		return nil
	})
	if err != nil {
		return err
	}
	api.WriteOK(w, r, &idResponse{ID: id})
	return nil
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return (&Handler{Store: d.Store, Sealer: d.Sealer, Probe: d.Probe, Policy: d.Policy}).Actions()
}
