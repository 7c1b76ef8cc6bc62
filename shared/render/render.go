package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// Labels every rendered object carries.
const (
	LabelProduct   = "s-product"
	LabelService   = "s-service"
	LabelEnv       = "s-env"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "envhub"
)

// Scope is where objects are rendered for.
type Scope struct {
	Product   string // project key
	EnvName   string // env key
	Namespace string
}

// Labels are the labels of the env's objects; service adds s-service.
func (s Scope) Labels(service string) map[string]string {
	l := map[string]string{LabelProduct: s.Product, LabelEnv: s.EnvName, LabelManagedBy: ManagedBy}
	if service != "" {
		l[LabelService] = service
	}
	return l
}

// funcs are the few helpers templates commonly need.
var funcs = template.FuncMap{
	"toYaml": func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	},
	"indent": indent,
	"nindent": func(n int, s string) (string, error) {
		out, err := indent(n, s)
		return "\n" + out, err
	},
	"quote": func(s any) string { return fmt.Sprintf("%q", fmt.Sprint(s)) },
}

// indent refuses sizes past MaxOutput before allocating them.
func indent(n int, s string) (string, error) {
	if n < 0 || n > 1024 || n*(strings.Count(s, "\n")+1)+len(s) > MaxOutput {
		return "", fmt.Errorf("indent %d of %d bytes is out of bounds", n, len(s))
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

// MaxOutput bounds what one service may render, so a template cannot
// exhaust a function's memory.
const MaxOutput = 1 << 20

// Parse parses a service template, guarding every range (see guard.go).
func Parse(service, text string) (*template.Template, error) {
	t, err := template.New(service).Option("missingkey=error").Funcs(funcs).Funcs(rangeGuard()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: template does not parse: %v", service, err)
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			guardRanges(tt.Tree, tt.Tree.Root)
		}
	}
	return t, nil
}

// limited is a buffer that refuses to grow past MaxOutput.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if l.Len()+len(p) > MaxOutput {
		return 0, fmt.Errorf("renders more than %d bytes", MaxOutput)
	}
	return l.Buffer.Write(p)
}

// Service renders one service: the template with its values, then the
// $Namespace$, $EnvName$, $Product$ and $Service$ placeholders, then the
// documents decoded and labelled (pod templates included).
func Service(scope Scope, service, text string, values map[string]any) ([]*unstructured.Unstructured, error) {
	t, err := Parse(service, text)
	if err != nil {
		return nil, err
	}
	var buf limited
	if err := t.Execute(&buf, values); err != nil {
		return nil, fmt.Errorf("%s: %v", service, err)
	}
	out := strings.NewReplacer("$Namespace$", scope.Namespace, "$EnvName$", scope.EnvName,
		"$Product$", scope.Product, "$Service$", service).Replace(buf.String())
	objs, err := cluster.Decode([]byte(out))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%s: renders no Kubernetes object", service)
	}
	for _, o := range objs {
		if err := confined(scope, o); err != nil {
			return nil, fmt.Errorf("%s: %w", service, err)
		}
		cluster.MergeLabels(o, scope.Labels(service))
	}
	return objs, nil
}

// Validate checks a template on save: it parses, renders with its defaults,
// and every document is a Kubernetes object with kind and name.
func Validate(service, text string, vars []Var) error {
	if err := CheckVars("variables", vars); err != nil {
		return err
	}
	values, err := Resolve(vars, nil, nil)
	if err != nil {
		return errs.Invalid("variables", "%v", err)
	}
	scope := Scope{Product: "product", EnvName: "env", Namespace: "namespace"}
	if _, err := Service(scope, service, text, values); err != nil {
		return errs.Invalid("yaml", "%v", err)
	}
	return nil
}

func joinErrs(failures []error) error {
	if len(failures) == 0 {
		return nil
	}
	return errors.Join(failures...)
}

// clusterScoped are the common kinds outside any namespace. The cluster
// adapter refuses every cluster-scoped kind at apply; this catches the usual
// ones when a template is saved.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "CustomResourceDefinition": true, "StorageClass": true, "PriorityClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "APIService": true, "IngressClass": true}

// confined refuses objects outside the environment's namespace.
func confined(scope Scope, o *unstructured.Unstructured) error {
	if clusterScoped[o.GetKind()] {
		return fmt.Errorf("%w: %s %q is cluster-scoped: an environment holds only objects of its namespace", errs.ErrInvalid, o.GetKind(), o.GetName())
	}
	if ns := o.GetNamespace(); ns != "" && ns != scope.Namespace {
		return fmt.Errorf("%w: %s %q names namespace %s: use $Namespace$ or leave it out", errs.ErrInvalid, o.GetKind(), o.GetName(), ns)
	}
	return nil
}
