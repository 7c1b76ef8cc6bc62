package operation

import (
	"context"
	"errors"
	"net/http"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/store"
)

// reserved are the path words an env key must not be: the environment
// API's routes put them where an env key goes.
var reserved = map[string]bool{"production": true, "service": true, "scale": true, "image": true, "kube": true, "envcfgs": true,
	"revisions": true}

// CheckEnvKey checks an environment key.
func CheckEnvKey(field, key string) error {
	if err := model.CheckKey(field, key, 32); err != nil {
		return err
	}
	if reserved[key] {
		return errs.Invalid(field, "%q is a reserved word", key)
	}
	return nil
}

// Request reads what every environment route needs: the caller, the query
// (projectKey plus extra parameters) and, when body is not nil, the JSON body.
func Request(r *http.Request, body any, extra ...string) (auth.Identity, api.Query, error) {
	caller, err := auth.FromRequest(r)
	if err != nil {
		return caller, api.Query{}, err
	}
	q, err := api.ParseQuery(r, append([]string{"projectKey"}, extra...)...)
	if err != nil {
		return caller, q, err
	}
	if body != nil {
		err = api.DecodeBody(r, body)
	}
	return caller, q, err
}

// Project reads the projectKey's project, hidden from callers who may not read it.
func (s *Starter) Project(ctx context.Context, caller auth.Identity, q api.Query) (*model.Project, error) {
	key, err := q.String("projectKey")
	if err != nil {
		return nil, err
	}
	if err := model.CheckKey("projectKey", key, 32); err != nil {
		return nil, err
	}
	p, err := s.Store.ProjectByKey(ctx, key)
	if err != nil {
		return nil, err
	}
	if !caller.CanRead(p.Owner, p.Visibility) || p.Status != model.StatusActive {
		return nil, errs.NotFound("project", key)
	}
	return p, nil
}

// Environment reads the environment of type envType (model.EnvTest or
// EnvProduction; "" for either) named by key in the query's project.
func (s *Starter) Environment(r *http.Request, envType, key string, caller auth.Identity, q api.Query) (*model.Project, *model.Environment, error) {
	pkey, err := q.String("projectKey")
	if err != nil {
		return nil, nil, err
	}
	field := "envKey"
	if r.PathValue("envKey") == "" {
		field = "env_key" // named in the body
	}
	return s.Named(r.Context(), envType, Names{"projectKey", pkey, field, key}, caller)
}

// Names name an environment, and the request fields that named it (a
// route may name them in its path, query or body).
type Names struct {
	ProjectField, Project string
	EnvField, Env         string
}

// Named reads the environment of type envType ("" for either) n names.
func (s *Starter) Named(ctx context.Context, envType string, n Names, caller auth.Identity) (*model.Project, *model.Environment, error) {
	if err := model.CheckKey(n.ProjectField, n.Project, 32); err != nil {
		return nil, nil, err
	}
	if err := CheckEnvKey(n.EnvField, n.Env); err != nil {
		return nil, nil, err
	}
	// Both read at once (one round trip in a warm process): the reads
	// before any cluster call are most of a read route's own time.
	p, e, err := s.Store.ProjectEnvironment(ctx, n.Project, n.Env)
	if p == nil {
		return nil, nil, err
	}
	if !caller.CanRead(p.Owner, p.Visibility) || p.Status != model.StatusActive {
		return nil, nil, errs.NotFound("project", n.Project)
	}
	if err != nil {
		return nil, nil, err
	}
	if envType != "" && e.Type != envType || e.Status != model.StatusActive {
		return nil, nil, errs.NotFound("environment", n.Env)
	}
	return p, e, nil
}

// Changeable reads an environment for a change: the caller must be able to
// change its project and still read its cluster (a runtime env made
// private, or whose credential went, takes no more changes from those who
// lost it).
func (s *Starter) Changeable(r *http.Request, envType, key string, caller auth.Identity, q api.Query) (*model.Environment, error) {
	p, e, err := s.Environment(r, envType, key, caller, q)
	if err != nil {
		return nil, err
	}
	return e, s.changeable(r.Context(), caller, p, e)
}

// ChangeableNamed is Changeable for an environment named as n says.
func (s *Starter) ChangeableNamed(ctx context.Context, envType string, n Names, caller auth.Identity) (*model.Environment, error) {
	p, e, err := s.Named(ctx, envType, n, caller)
	if err != nil {
		return nil, err
	}
	return e, s.changeable(ctx, caller, p, e)
}

func (s *Starter) changeable(ctx context.Context, caller auth.Identity, p *model.Project, e *model.Environment) error {
	if err := caller.Writable("project", &p.Record); err != nil {
		return err
	}
	env, err := s.Store.GetRuntimeEnv(ctx, e.ClusterID)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return err
	}
	if err != nil || env.Status != model.StatusActive || !caller.CanRead(env.Owner, env.Visibility) {
		return errs.Forbidden("runtime env %s of environment %s is no longer available to you: an admin can still change or delete it", e.ClusterID, e.Key)
	}
	return nil
}

// Accept reads a change request (Request, with body) and answers a replay
// of its Idempotency-Key with the operation the first one started
// (answered); otherwise it returns the key for the new operation.
func (s *Starter) Accept(w http.ResponseWriter, r *http.Request, body any, extra ...string) (caller auth.Identity, q api.Query, idem *store.Idempotency, answered bool, err error) {
	if caller, q, err = Request(r, body, extra...); err != nil {
		return caller, q, nil, false, err
	}
	idem, answered, err = s.Replay(w, r, caller, body) // a pointer hashes as its value

	return caller, q, idem, answered, err
}
