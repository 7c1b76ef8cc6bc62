package render

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// RegistrySecretName is the pull secret envhub creates when an env has a registry.
const RegistrySecretName = "default-registry-secret"

// Registry is a docker registry credential ({server, username, password}).
type Registry struct{ Server, Username, Password string }

// EnvService is one service of an environment with its template.
type EnvService struct {
	Name      string
	Template  string
	Vars      []Var
	Settings  []Setting
	Overrides Overrides // applied after rendering
}

// EnvConfig is one env configuration: its type and YAML.
type EnvConfig struct {
	Type string // ConfigMap, Ingress, Secret or PVC
	YAML string
}

// configKinds maps env config types to the kind their YAML must hold.
var configKinds = map[string]string{"ConfigMap": "ConfigMap", "Ingress": "Ingress", "Secret": "Secret", "PVC": "PersistentVolumeClaim"}

// Env is everything an environment renders from.
type Env struct {
	Scope    Scope
	Globals  map[string]string
	Services []EnvService
	Configs  []EnvConfig
	Registry *Registry
}

// Output is a rendered environment, in apply order.
type Output struct {
	Registry *unstructured.Unstructured // nil without a registry
	Configs  []*unstructured.Unstructured
	Services [][]*unstructured.Unstructured // one entry per Env.Services, same order
	// Superseded are image overrides the templates now render past: the
	// change names a new image, and the override goes.
	Superseded []Superseded
}

// Environment renders every config and service of an env. It renders all
// of them and reports every error at once (400), so nothing is applied
// while anything is wrong.
func Environment(e Env) (*Output, error) {
	out := &Output{Services: make([][]*unstructured.Unstructured, len(e.Services))}
	var failures []error
	// Each service has its own budget; the environment has one too, so that
	// many services cannot add up to more than a request can take.
	start, total := time.Now(), 0
	if e.Registry != nil {
		out.Registry = registrySecret(e.Scope, *e.Registry)
	}
	for i, c := range e.Configs {
		obj, err := config(e.Scope, c)
		if err != nil {
			failures = append(failures, fmt.Errorf("env_configs[%d]: %w", i, err))
			continue
		}
		out.Configs = append(out.Configs, obj)
	}
	for i, s := range e.Services {
		values, err := Resolve(s.Vars, s.Settings, e.Globals)
		if err != nil {
			failures = append(failures, fmt.Errorf("service %s: %w", s.Name, err))
			continue
		}
		if total > MaxEnvOutput || time.Since(start) > EnvDeadline {
			failures = append(failures, fmt.Errorf("services from %s on: the environment renders more than %d MiB or for longer than %v in all: split it", s.Name, MaxEnvOutput>>20, EnvDeadline))
			break
		}
		objs, size, err := renderService(e.Scope, s.Name, s.Template, values)
		total += size
		if err != nil {
			failures = append(failures, err)
			continue
		}
		for _, o := range objs {
			clean(o)
			for _, img := range s.Overrides.apply(o) {
				out.Superseded = append(out.Superseded, Superseded{Service: s.Name, Image: img})
			}
			if e.Registry != nil {
				addPullSecret(o)
			}
		}
		for _, ref := range s.Overrides.gone(objs) {
			out.Superseded = append(out.Superseded, Superseded{Service: s.Name, Gone: ref})
		}
		out.Services[i] = objs
	}
	if err := joinErrs(failures); err != nil {
		return nil, fmt.Errorf("%w: %v", errs.ErrInvalid, err)
	}
	return out, nil
}

func config(scope Scope, c EnvConfig) (*unstructured.Unstructured, error) {
	kind, ok := configKinds[c.Type]
	if !ok {
		return nil, fmt.Errorf("common_env_cfg_type must be ConfigMap, Ingress, Secret or PVC")
	}
	if cost, err := checkYAML(c.YAML); err != nil || cost > MaxDecode {
		return nil, fmt.Errorf("yaml_data %w", cmp.Or(err, tooComplex(cost, fmt.Sprintf("the %d MiB allowed", MaxDecode>>20))))
	}
	objs, err := cluster.Decode([]byte(c.YAML))
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 || objs[0].GetKind() != kind {
		return nil, fmt.Errorf("yaml_data must hold exactly one %s", kind)
	}
	o := objs[0]
	if err := reachesOut(o); err != nil {
		return nil, err
	}
	clean(o)
	o.SetNamespace(scope.Namespace)
	cluster.MergeLabels(o, scope.Labels(""))
	return o, nil
}

// clean drops what the server owns (uid, resourceVersion, status...), as
// found in YAML copied from a live cluster; server-side apply refuses or
// misreads them.
func clean(o *unstructured.Unstructured) {
	for _, f := range []string{"uid", "resourceVersion", "selfLink", "creationTimestamp", "generation", "managedFields"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(o.Object, "status")
}

func addPullSecret(o *unstructured.Unstructured) {
	p, ok := cluster.PodTemplatePath(o.GetKind())
	if !ok {
		return
	}
	p = append(p, "spec", "imagePullSecrets")
	secrets, _, _ := unstructured.NestedSlice(o.Object, p...)
	for _, s := range secrets {
		if m, ok := s.(map[string]any); ok && m["name"] == RegistrySecretName {
			return
		}
	}
	_ = unstructured.SetNestedSlice(o.Object, append(secrets, map[string]any{"name": RegistrySecretName}), p...)
}

func registrySecret(scope Scope, r Registry) *unstructured.Unstructured {
	auth := base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{r.Server: map[string]string{
		"username": r.Username, "password": r.Password, "auth": auth}}})
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
		"metadata": map[string]any{"name": RegistrySecretName, "namespace": scope.Namespace},
		"data":     map[string]any{".dockerconfigjson": base64.StdEncoding.EncodeToString(cfg)},
	}}
	cluster.MergeLabels(o, scope.Labels(""))
	return o
}
