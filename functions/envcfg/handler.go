// Package envcfg serves the env config routes of the environment API (test
// and production): the ConfigMaps, Ingresses, Secrets and
// PersistentVolumeClaims of an environment, added, listed, read, updated
// and deleted. Every change is an operation (shared/operation): validated,
// dry-run on the cluster, recorded with its plan, then applied by a state
// machine.
package envcfg

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/envhub/envhub/shared/api"
	"github.com/envhub/envhub/shared/deps"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/operation"
)

// Handler serves the area's routes; operations start, and the store is
// read, through the Starter.
type Handler struct {
	*operation.Starter
}

// Actions wires the handlers from Deps (used by the Lambda main and the local server).
func Actions(d *deps.Deps) map[string]api.HandlerFunc {
	return New(d).Actions()
}

// New builds the handler from Deps.
func New(d *deps.Deps) *Handler {
	return &Handler{Starter: operation.New(d)}
}

// Actions maps the route table's actions to handlers.
func (h *Handler) Actions() map[string]api.HandlerFunc {
	test, prod := kind{model.EnvTest}, kind{model.EnvProduction}
	return map[string]api.HandlerFunc{
		"CreateEnvConfig": h.create(test), "CreateProductionEnvConfig": h.create(prod),
		"ListEnvConfigs": h.list(test), "ListProductionEnvConfigs": h.list(prod),
		"GetEnvConfig": h.get(test), "GetProductionEnvConfig": h.get(prod),
		"UpdateEnvConfig": h.update,
		"DeleteEnvConfig": h.delete(test), "DeleteProductionEnvConfig": h.delete(prod),
	}
}

// kind is the environment type a route serves.
type kind struct{ envType string }

// cfgType is a type of env config and the kind of object it holds.
type cfgType struct {
	Name       string // as the API names it
	APIVersion string // the version envhub reads live objects at
	Kind       string
	DetailKey  string // its detail's key
}

// Types are the env config types, as the spec lists them.
var Types = []cfgType{
	{"ConfigMap", "v1", "ConfigMap", "configMap_detail"},
	{"Ingress", "networking.k8s.io/v1", "Ingress", "ingress_detail"},
	{"Secret", "v1", "Secret", "secret_detail"},
	{"PVC", "v1", "PersistentVolumeClaim", "pvc_detail"},
}

// typeOf reads an env config type named in field.
func typeOf(field, name string) (cfgType, error) {
	for _, t := range Types {
		if t.Name == name {
			return t, nil
		}
	}
	if name == "" {
		return cfgType{}, errs.Invalid(field, "is required: one of ConfigMap, Ingress, Secret or PVC")
	}
	return cfgType{}, errs.Invalid(field, "must be one of ConfigMap, Ingress, Secret or PVC, not %q", name)
}

func (t cfgType) secret() bool { return t.Name == model.ConfigSecret }

// ref is the applied-set entry of t's object name.
func (t cfgType) ref(name string) model.Applied {
	return model.Applied{APIVersion: t.APIVersion, Kind: t.Kind, Name: name, Part: model.PartConfig}
}

// checkName checks an env config's name: a DNS-1123 subdomain, as every
// object of the four kinds is named.
func checkName(field, name string) error {
	if name == "" {
		return errs.Invalid(field, "is required")
	}
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return errs.Invalid(field, "must be a DNS-1123 subdomain: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// target reads what the detail and delete routes name: the type query
// parameter and the path's config name.
func target(r *http.Request, q api.Query) (cfgType, string, error) {
	raw, err := q.String("type")
	if err != nil {
		return cfgType{}, "", err
	}
	t, err := typeOf("type", raw)
	if err != nil {
		return cfgType{}, "", err
	}
	name := r.PathValue("cfgName")
	return t, name, checkName("cfgName", name)
}
