package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// Rendering a template is the costliest thing a request can make the
// function do: only callers who may write to the project get it, and an
// update renders once however often the store retries.

const goodTemplate = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"

// recursive would be refused by rendering (400), so a 403/404 shows that
// rendering never started.
const recursive = `{{define "a"}}{{template "a" .}}{{end}}{{template "a" .}}`

// fakeStore holds one project and its template; UpdateTemplate runs fn
// attempts times on fresh copies, as the store does when commits race,
// calling between() before each retry.
type fakeStore struct {
	Store
	project  model.Project
	template model.ServiceTemplate
	attempts int
	between  func(*model.ServiceTemplate)
}

func (s *fakeStore) ProjectByKey(_ context.Context, key string) (*model.Project, error) {
	if key != s.project.Key {
		return nil, errs.NotFound("project", key)
	}
	p := s.project
	return &p, nil
}

func (s *fakeStore) CreateTemplate(_ context.Context, st *model.ServiceTemplate, check func(*model.Project) error) error {
	p := s.project
	return check(&p)
}

func (s *fakeStore) TemplateByName(_ context.Context, _, name string) (*model.ServiceTemplate, error) {
	st := s.template
	return &st, nil
}

func (s *fakeStore) UpdateTemplate(_ context.Context, st *model.ServiceTemplate, _ bool, fn func(*model.Project, *model.ServiceTemplate) error) error {
	for i := range s.attempts {
		if i > 0 && s.between != nil {
			s.between(&s.template)
		}
		p, next := s.project, s.template
		if err := fn(&p, &next); err != nil {
			return err
		}
	}
	return nil
}

var _ Store = (*fakeStore)(nil)

func newFakeStore(visibility string) *fakeStore {
	rec := model.Record{ID: "p1", Owner: "alice", Visibility: visibility, Status: model.StatusActive}
	return &fakeStore{
		project:  model.Project{Record: rec, Key: "shop"},
		template: model.ServiceTemplate{Record: model.Record{ID: "t1", Status: model.StatusActive, Owner: "alice"}, ProjectID: "p1", Name: "web", YAML: goodTemplate},
		attempts: 1,
	}
}

// request is one API Gateway request of sub, as the function receives it.
func request(t *testing.T, sub string, body any) *http.Request {
	t.Helper()
	data, _ := json.Marshal(body)
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/", RawQueryString: "projectKey=shop", Body: string(data),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": sub}}},
		}}
	r, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	r.SetPathValue("serviceName", "web")
	return r
}

// countRenders counts the calls of validate until the test ends.
func countRenders(t *testing.T) *int {
	n, orig := new(int), validate
	validate = func(name, yaml string, vars []model.Var) error {
		*n++
		return orig(name, yaml, vars)
	}
	t.Cleanup(func() { validate = orig })
	return n
}

func TestAuthorizedBeforeRendering(t *testing.T) {
	for name, c := range map[string]struct {
		caller, visibility string
		want               error
		renders            int
	}{
		"reader of a public project":    {"bob", model.Public, errs.ErrForbidden, 0},
		"stranger to a private project": {"bob", model.Private, errs.ErrNotFound, 0},
		"owner":                         {"alice", model.Private, errs.ErrInvalid, 1},
	} {
		t.Run(name, func(t *testing.T) {
			h := &Handler{Store: newFakeStore(c.visibility)}
			renders := countRenders(t)
			err := h.createTemplate(httptest.NewRecorder(), request(t, c.caller, map[string]any{"service_name": "api", "yaml": recursive}))
			if !errors.Is(err, c.want) || *renders != c.renders {
				t.Errorf("create: %v after %d renders, want %v after %d", err, *renders, c.want, c.renders)
			}
			*renders = 0
			err = h.updateTemplate(httptest.NewRecorder(), request(t, c.caller, map[string]any{"yaml": recursive}))
			if !errors.Is(err, c.want) || *renders != c.renders {
				t.Errorf("update: %v after %d renders, want %v after %d", err, *renders, c.want, c.renders)
			}
		})
	}
}

// Retries render again only when the template changed in between.
func TestUpdateRendersOnce(t *testing.T) {
	for name, c := range map[string]struct {
		between func(*model.ServiceTemplate)
		renders int
	}{
		"retried":                 {nil, 1},
		"changed by someone else": {func(st *model.ServiceTemplate) { st.YAML = goodTemplate + "data: {a: b}\n" }, 2},
	} {
		t.Run(name, func(t *testing.T) {
			s := newFakeStore(model.Private)
			s.attempts, s.between = 3, c.between
			renders := countRenders(t)
			vars := []map[string]string{{"key": "a", "value": "1", "type": "string"}}
			if err := (&Handler{Store: s}).updateTemplate(httptest.NewRecorder(), request(t, "alice", map[string]any{"variables": vars})); err != nil {
				t.Fatal(err)
			}
			if *renders != c.renders {
				t.Errorf("%d renders over 3 attempts, want %d", *renders, c.renders)
			}
		})
	}
}
