package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"k8s.io/utils/lru"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

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

// Selector selects the objects of one service of an environment.
func Selector(envKey, service string) string {
	return LabelEnv + "=" + envKey + "," + LabelService + "=" + service + "," + LabelManagedBy + "=" + ManagedBy
}

// MaxTemplate bounds a template's text (the API's body limit), and so the
// cost of parsing it (text/template allocates up to ~64 bytes per byte).
const MaxTemplate = 256 << 10

// Parse parses a service template and guards it (guard.go) with a fresh
// budget (budget.go), which every execution of the result spends. A warm
// process renders the same templates again and again (every operation
// renders the whole environment): a template parsed and guarded once is
// kept (parse trees are read-only once guarded) and cloned with a fresh
// budget bound to its functions.
func Parse(service, text string) (*template.Template, error) {
	if len(text) > MaxTemplate {
		return nil, fmt.Errorf("%s: template of %d bytes is more than %d bytes", service, len(text), MaxTemplate)
	}
	key := parsedKey{service, text}
	if len(text) <= maxCachedTemplate {
		if t, ok := parsed.Get(key); ok {
			c, err := t.(*template.Template).Clone()
			if err != nil {
				return nil, err
			}
			return c.Funcs(newBudget().funcs()), nil
		}
	}
	t, err := template.New(service).Option("missingkey=error").Funcs(newBudget().funcs()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: template does not parse: %w", service, err)
	}
	if err := guard(t); err != nil {
		return nil, fmt.Errorf("%s: %w", service, err)
	}
	if len(text) <= maxCachedTemplate {
		c, err := t.Clone() // the cached copy's budget is never spent
		if err == nil {
			parsed.Add(key, c)
		}
	}
	return t, nil
}

// Parsed templates kept: at most maxCached, each of at most
// maxCachedTemplate bytes, 256 KiB of text in all (a parse tree costs some
// 50 to 70 bytes per byte: under 20 MiB held).
const (
	maxCached         = 32
	maxCachedTemplate = 8 << 10
)

type parsedKey struct{ service, text string }

var parsed = lru.New(maxCached)

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
	objs, _, err := renderService(scope, service, text, values)
	return objs, err
}

// renderService is Service, also telling how many bytes of YAML it rendered.
func renderService(scope Scope, service, text string, values map[string]any) ([]*unstructured.Unstructured, int, error) {
	objs, out, err := renderText(scope, service, text, values)
	return objs, len(out), err
}

func renderText(scope Scope, service, text string, values map[string]any) ([]*unstructured.Unstructured, string, error) {
	t, err := Parse(service, text)
	if err != nil {
		return nil, "", err
	}
	var buf limited
	if err := t.Execute(&buf, values); err != nil {
		return nil, "", fmt.Errorf("%s: %w", service, err)
	}
	out, err := placeholders(scope, service, buf.String())
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", service, err)
	}
	if err := checkDocuments(out); err != nil {
		return nil, "", fmt.Errorf("%s: rendered YAML %w", service, err)
	}
	objs, err := cluster.Decode([]byte(out))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", service, err)
	}
	if len(objs) == 0 {
		return nil, "", fmt.Errorf("%s: renders no Kubernetes object", service)
	}
	for _, o := range objs {
		if err := confined(scope, o); err != nil {
			return nil, "", fmt.Errorf("%s: %w", service, err)
		}
		cluster.MergeLabels(o, scope.Labels(service))
	}
	return objs, out, nil
}

// placeholders replaces $Namespace$, $EnvName$, $Product$ and $Service$,
// refusing output that would grow past MaxOutput.
func placeholders(scope Scope, service, out string) (string, error) {
	pairs := []string{"$Namespace$", scope.Namespace, "$EnvName$", scope.EnvName, "$Product$", scope.Product, "$Service$", service}
	size := len(out)
	for i := 0; i < len(pairs); i += 2 {
		size += strings.Count(out, pairs[i]) * max(0, len(pairs[i+1])-len(pairs[i]))
	}
	if size > MaxOutput {
		return "", fmt.Errorf("renders more than %d bytes with its placeholders replaced", MaxOutput)
	}
	return strings.NewReplacer(pairs...).Replace(out), nil
}

// Validate checks a template on save: it parses, renders with its defaults,
// and every document is a Kubernetes object with kind and name.
func Validate(service, text string, vars []Var) error {
	values, err := checkVars("variables", vars) // the defaults, decoded once
	if err != nil {
		return err
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
	return reachesOut(o)
}

// reachesOut refuses namespaced objects that act beyond their namespace
// when envhub's (broad) credential applies them: a Service's externalIPs
// capture other tenants' traffic (CVE-2020-8554); a claim naming a volume,
// selecting one, or asking for no storage class binds someone else's
// PersistentVolume; an Ingress with a wildcard host, no host or a default
// backend catches other tenants' hosts, and nginx snippet annotations run
// config in the shared controller (CVE-2021-25742).
func reachesOut(o *unstructured.Unstructured) error {
	switch o.GetKind() {
	case "Ingress":
		return ingressReachesOut(o)
	case "Service":
		if ips, _, _ := unstructured.NestedSlice(o.Object, "spec", "externalIPs"); len(ips) > 0 {
			return fmt.Errorf("%w: Service %q sets spec.externalIPs, which would take traffic meant for others", errs.ErrInvalid, o.GetName())
		}
	case "PersistentVolumeClaim":
		if v, _, _ := unstructured.NestedString(o.Object, "spec", "volumeName"); v != "" {
			return fmt.Errorf("%w: PersistentVolumeClaim %q sets spec.volumeName: claims get their volumes from storage classes", errs.ErrInvalid, o.GetName())
		}
		if _, ok, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "selector"); ok {
			return fmt.Errorf("%w: PersistentVolumeClaim %q sets spec.selector: claims get their volumes from storage classes", errs.ErrInvalid, o.GetName())
		}
		if sc, ok, _ := unstructured.NestedString(o.Object, "spec", "storageClassName"); ok && sc == "" {
			return fmt.Errorf("%w: PersistentVolumeClaim %q sets an empty storageClassName, which binds existing volumes: name a storage class or leave it out", errs.ErrInvalid, o.GetName())
		}
	}
	return nil
}

// ingressReachesOut: every rule of an Ingress names one exact host (its
// claim on the cluster), with no default backend or snippet annotations.
func ingressReachesOut(o *unstructured.Unstructured) error {
	name := o.GetName()
	if _, ok, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "defaultBackend"); ok {
		return fmt.Errorf("%w: Ingress %q sets spec.defaultBackend, which would catch every host of its ingress class", errs.ErrInvalid, name)
	}
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		host, _ := m["host"].(string)
		switch {
		case host == "":
			return fmt.Errorf("%w: Ingress %q has a rule without a host, which would catch every host of its ingress class", errs.ErrInvalid, name)
		case strings.Contains(host, "*"):
			return fmt.Errorf("%w: Ingress %q routes wildcard host %s: name each host (hosts are claimed one by one on a cluster)", errs.ErrInvalid, name, host)
		}
	}
	for k := range o.GetAnnotations() {
		if strings.HasSuffix(k, "-snippet") || strings.HasSuffix(k, "/snippet") {
			return fmt.Errorf("%w: Ingress %q sets annotation %s: snippets run in the cluster's shared ingress controller", errs.ErrInvalid, name, k)
		}
	}
	return nil
}
