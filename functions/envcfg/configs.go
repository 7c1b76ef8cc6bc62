package envcfg

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

// stored is one env config of an environment as it keeps it: its type, its
// name (its YAML's metadata.name: model.EnvConfig has none of its own) and
// its YAML in clear (a Secret's opened).
type stored struct {
	Index int // in Environment.Configs
	Type  cfgType
	Name  string
	YAML  string
	Obj   *unstructured.Unstructured
}

// configs lists e's env configs, Secrets opened: once per request.
func (h *Handler) configs(ctx context.Context, e *model.Environment) ([]stored, error) {
	out := make([]stored, 0, len(e.Configs))
	for i, c := range e.Configs {
		t, err := typeOf("common_env_cfg_type", c.Type)
		if err != nil {
			return nil, fmt.Errorf("env config %d of %s: %w", i, e.ID, err)
		}
		text := c.YAML
		if c.Sealed != nil {
			plain, err := h.Renderer.Opener.OpenBytes(ctx, e.SealID(), c.Sealed)
			if err != nil {
				return nil, fmt.Errorf("open env config: %w", err)
			}
			text = string(plain)
		}
		// Stored configs passed rendering's guards when they were added.
		objs, err := cluster.Decode([]byte(text))
		if err != nil || len(objs) != 1 {
			return nil, fmt.Errorf("env config %d of %s does not decode to one object: %v", i, e.ID, err)
		}
		out = append(out, stored{Index: i, Type: t, Name: objs[0].GetName(), YAML: text, Obj: objs[0]})
	}
	return out, nil
}

// find returns the config of type t named name, or nil.
func find(list []stored, t cfgType, name string) *stored {
	for i := range list {
		if list[i].Type.Name == t.Name && list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// AddRequest is the add body.
type AddRequest struct {
	Name string `json:"name"`
	Type string `json:"common_env_cfg_type"`
	YAML string `json:"yaml_data"`
}

// UpdateRequest is the update body: the environment is named in it.
type UpdateRequest struct {
	AddRequest
	EnvKey string `json:"env_key"`
}

// parse checks a config from a request (400 naming the field, before
// anything is read or changed) and returns its type and object. The YAML
// goes through rendering first, which guards the decoder against hostile
// YAML (anchors, decoding cost) and checks it holds exactly one object of
// the type's kind.
func parse(req AddRequest) (cfgType, *unstructured.Unstructured, error) {
	t, err := typeOf("common_env_cfg_type", req.Type)
	if err != nil {
		return t, nil, err
	}
	if err := checkName("name", req.Name); err != nil {
		return t, nil, err
	}
	if strings.TrimSpace(req.YAML) == "" {
		return t, nil, errs.Invalid("yaml_data", "is required: one %s", t.Kind)
	}
	env := render.Env{Scope: render.Scope{Product: "p", EnvName: "e", Namespace: "n"}, Configs: []render.EnvConfig{{Type: t.Name, YAML: req.YAML}}}
	if _, err := render.Environment(env); err != nil {
		return t, nil, yamlError(err)
	}
	objs, err := cluster.Decode([]byte(req.YAML))
	if err != nil {
		return t, nil, yamlError(err)
	}
	o := objs[0]
	if o.GetName() != req.Name {
		return t, nil, errs.Invalid("name", "is %q but yaml_data's metadata.name is %q: they must be the same", req.Name, o.GetName())
	}
	return t, o, nil
}

// confined refuses a config naming another namespace than e's: an
// environment's configs live only in its namespace.
func confined(e *model.Environment, o *unstructured.Unstructured) error {
	if ns := o.GetNamespace(); ns != "" && ns != e.Namespace {
		return errs.Invalid("yaml_data", "metadata.namespace is %s: an environment's configs live only in its namespace %s (leave it out)", ns, e.Namespace)
	}
	return nil
}

// yamlError names yaml_data in an error of rendering or decoding one config.
func yamlError(err error) error {
	msg := err.Error()
	for {
		trimmed := msg
		for _, p := range []string{errs.ErrInvalid.Error() + ": ", "env_configs[0]: ", "manifest: ", "yaml_data "} {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == msg {
			break
		}
		msg = trimmed
	}
	return errs.Invalid("yaml_data", "%s", msg)
}
