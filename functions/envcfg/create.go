package envcfg

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// create adds a config to an environment: a config of the same type and
// name already there is a 409. An object of that name already live in the
// namespace but not envhub's is adopted (the request names it explicitly,
// and the forced server-side apply takes its fields over).
func (h *Handler) create(k kind) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req AddRequest
		caller, q, idem, answered, err := h.Accept(w, r, &req)
		if err != nil || answered {
			return err
		}
		t, obj, err := parse(req)
		if err != nil {
			return err
		}
		e, err := h.Changeable(r, k.envType, r.PathValue("envKey"), caller, q)
		if err != nil {
			return err
		}
		if err := confined(e, obj); err != nil {
			return err
		}
		list, err := h.configs(r.Context(), e)
		if err != nil {
			return err
		}
		if find(list, t, req.Name) != nil {
			return errs.Conflict("%s %q is already a config of environment %s: update it instead", t.Name, req.Name, e.Key)
		}
		text := req.YAML
		if t.secret() && masked(obj) {
			// Adopting a live Secret may keep its values, as an update would.
			live, err := h.live(r.Context(), e, t, req.Name)
			if err != nil && !errors.Is(err, errs.ErrNotFound) {
				return err
			}
			if text, err = keep(obj, live); err != nil {
				return err
			}
		}
		cfg, err := h.config(r.Context(), e, t, text)
		if err != nil {
			return err
		}
		opID, err := h.start(r, change{Update: operation.Update{Caller: caller, Env: e, Idem: idem, Input: "envcfg add " + t.Name + "/" + req.Name,
			Set: func(e *model.Environment) { e.Configs = append(e.Configs, cfg) }, Touched: isConfig}, Object: obj})
		if err != nil {
			return err
		}
		operation.WriteStarted(w, opID)
		return nil
	}
}

// config is a config as the environment keeps it: a Secret only sealed,
// sealed here, once, before the change's Set runs (twice).
func (h *Handler) config(ctx context.Context, e *model.Environment, t cfgType, text string) (model.EnvConfig, error) {
	if !t.secret() {
		return model.EnvConfig{Type: t.Name, YAML: text}, nil
	}
	sealed, err := h.Sealer.SealBytes(ctx, e.SealID(), []byte(text))
	if err != nil {
		return model.EnvConfig{}, fmt.Errorf("seal env config: %w", err)
	}
	return model.EnvConfig{Type: t.Name, Sealed: sealed}, nil
}

// keep gives a Secret's masked keys their values in old (nil: none) and
// returns its YAML.
func keep(o, old *unstructured.Unstructured) (string, error) {
	if _, err := unmask(o, old); err != nil {
		return "", err
	}
	return toYAML(o)
}

// live reads the live object of type t named name in e's namespace.
func (h *Handler) live(ctx context.Context, e *model.Environment, t cfgType, name string) (*unstructured.Unstructured, error) {
	ctx, cancel := context.WithTimeout(ctx, operation.RequestTimeout)
	defer cancel()
	c, err := h.Connector.Connect(ctx, e.ClusterID)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, t.APIVersion, t.Kind, e.Namespace, name)
}
