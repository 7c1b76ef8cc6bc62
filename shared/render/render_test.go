package render

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/envhub/envhub/shared/errs"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const web = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: $Service$
  annotations: {env: "$EnvName$", ns: "$Namespace$", product: "$Product$"}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: $Service$}}
  template:
    metadata: {labels: {app: $Service$}}
    spec:
      containers:
      - name: main
        image: {{ .image }}
        {{- if .debug }}
        args: ["--debug"]
        {{- end }}
        resources: {{ toYaml .resources | nindent 10 }}
---
apiVersion: v1
kind: Service
metadata: {name: $Service$}
spec: {selector: {app: $Service$}, ports: [{port: {{ .port }}}]}
`

var webVars = []Var{
	{Key: "replicas", Value: "1", Type: TypeString},
	{Key: "image", Value: "nginx:1.27", Type: TypeString},
	{Key: "debug", Value: "false", Type: TypeBool},
	{Key: "port", Value: "80", Type: TypeEnum, Options: []string{"80", "8080"}},
	{Key: "resources", Value: "limits: {cpu: 100m}", Type: TypeYAML},
}

// hundreds is a YAML list of 200 items: ranging over it inside itself loops 40,200 times.
var hundreds = "[" + strings.Repeat("1,", 199) + "1]"

var scope = Scope{Product: "shop", EnvName: "dev", Namespace: "shop-env-dev"}

func TestValidate(t *testing.T) {
	if err := Validate("web", web, webVars); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		text string
		vars []Var
		says string
	}{
		"does not parse":       {"{{ .x ", nil, "does not parse"},
		"ranges over a number": {"{{ range 1000000000 }}{{ end }}", nil, "range over int"},
		"nested range":         {"{{ if true }}{{ range $i := 99999999 }}x{{ end }}{{ end }}", nil, "range over int"},
		"number in a variable": {"{{ $n := 300000000 }}{{ range $n }}{{ end }}", nil, "range over int"},
		"computed number":      {"{{ range len \"abcdef\" }}{{ end }}", nil, "range over int"},
		"loops too often":      {"{{ range .l }}{{ range $.l }}{{ end }}{{ end }}", []Var{{Key: "l", Type: TypeYAML, Value: hundreds}}, "more than 10000 times"},
		"range over a string":  {"{{ range .s }}{{ end }}", []Var{{Key: "s", Type: TypeString, Value: "abc"}}, "range over string"},
		"cluster-scoped":       {"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: x}", nil, "cluster-scoped"},
		"other namespace":      {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}", nil, "kube-system"},
		"external IPs":         {"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {externalIPs: [10.0.0.1], ports: [{port: 80}]}", nil, "externalIPs"},
		"bound volume":         {"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec: {volumeName: someones-pv}", nil, "volumeName"},
		"selected volume":      {"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec: {selector: {matchLabels: {owner: them}}}", nil, "spec.selector"},
		"no storage class":     {"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec: {storageClassName: \"\"}", nil, "storageClassName"},
		"wildcard host":        {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\nspec: {rules: [{host: \"*.apps.example.com\"}]}", nil, "wildcard"},
		"rule without host":    {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\nspec: {rules: [{http: {paths: []}}]}", nil, "without a host"},
		"default backend":      {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x}\nspec: {defaultBackend: {service: {name: s, port: {number: 80}}}}", nil, "defaultBackend"},
		"nginx snippet":        {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: x, annotations: {nginx.ingress.kubernetes.io/server-snippet: \"location /x {}\"}}\nspec: {rules: [{host: a.example.com}]}", nil, "snippet"},
		"huge indent":          {"a: {{ indent 2000000000 \"x\" }}", nil, "out of bounds"},
		"negative indent":      {"a: {{ indent -1 \"x\" }}", nil, "out of bounds"},
		"renders too much":     {"a: {{ printf \"%2000000d\" 1 }}", nil, "more than"},
		"missing variable":     {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .nope }}}", nil, "nope"},
		"no kind":              {"apiVersion: v1\nmetadata: {name: x}", nil, "kind"},
		"no objects":           {"# nothing", nil, "no Kubernetes object"},
		"bad yaml":             {"a: [", nil, "does not parse"},
		"bad bool default":     {web, []Var{{Key: "debug", Value: "maybe", Type: TypeBool}}, "debug"},
		"enum without options": {web, []Var{{Key: "port", Value: "80", Type: TypeEnum}}, "options"},
		"default not in enum":  {web, []Var{{Key: "port", Value: "81", Type: TypeEnum, Options: []string{"80"}}}, "port"},
		"bad yaml default":     {web, []Var{{Key: "resources", Value: "a: [", Type: TypeYAML}}, "resources"},
		"unknown type":         {web, []Var{{Key: "x", Value: "1", Type: "int"}}, "type"},
		"bad key":              {web, []Var{{Key: "a-b", Value: "1", Type: TypeString}}, "key"},
		"duplicate key":        {web, []Var{{Key: "a", Type: TypeString}, {Key: "a", Type: TypeString}}, "twice"},
	}
	for name, c := range cases {
		err := Validate("web", c.text, c.vars)
		if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	settings := []Setting{{Key: "image", Value: "nginx:1.28"}, {Key: "replicas", Value: "3", UseGlobal: true}, {Key: "debug", Value: "true"}}
	got, err := Resolve(webVars, settings, map[string]string{"replicas": "5", "image": "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	if got["image"] != "nginx:1.28" || got["replicas"] != "5" || got["debug"] != true || got["port"] != "80" {
		t.Fatalf("resolved %v", got)
	}
	if res, ok := got["resources"].(map[string]any); !ok || res["limits"] == nil {
		t.Fatalf("yaml value not parsed: %#v", got["resources"])
	}
	for name, c := range map[string]struct {
		settings []Setting
		globals  map[string]string
		says     string
	}{
		"bool":           {[]Setting{{Key: "debug", Value: "yes please"}}, nil, "debug"},
		"enum":           {[]Setting{{Key: "port", Value: "443"}}, nil, "port"},
		"yaml":           {[]Setting{{Key: "resources", Value: "{"}}, nil, "resources"},
		"missing global": {[]Setting{{Key: "image", UseGlobal: true}}, nil, "global"},
		"unknown key":    {[]Setting{{Key: "colour", Value: "red"}}, nil, "colour"},
	} {
		if _, err := Resolve(webVars, c.settings, c.globals); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEnvironment(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: elsewhere\n  uid: 767723b1\n  resourceVersion: \"9\"\n  selfLink: /x\ndata: {a: b}\n"
	out, err := Environment(Env{
		Scope:    scope,
		Globals:  map[string]string{"image": "nginx:global"},
		Services: []EnvService{{Name: "web", Template: web, Vars: webVars, Settings: []Setting{{Key: "image", UseGlobal: true}}}},
		Configs:  []EnvConfig{{Type: "ConfigMap", YAML: cm}},
		Registry: &Registry{Server: "registry.example.com", Username: "u", Password: "p"},
	})
	if err != nil {
		t.Fatal(err)
	}
	dep := out.Services[0][0]
	want := map[string]string{"s-product": "shop", "s-env": "dev", "s-service": "web", "app.kubernetes.io/managed-by": "envhub"}
	podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	for k, v := range want {
		if dep.GetLabels()[k] != v || podLabels[k] != v {
			t.Errorf("label %s: object %q, pod template %q", k, dep.GetLabels()[k], podLabels[k])
		}
	}
	if dep.GetName() != "web" || dep.GetAnnotations()["ns"] != "shop-env-dev" || dep.GetAnnotations()["product"] != "shop" || dep.GetAnnotations()["env"] != "dev" {
		t.Errorf("placeholders: %v %v", dep.GetName(), dep.GetAnnotations())
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if img := containers[0].(map[string]any)["image"]; img != "nginx:global" {
		t.Errorf("image %v", img)
	}
	pull, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "imagePullSecrets")
	if len(pull) != 1 || pull[0].(map[string]any)["name"] != RegistrySecretName {
		t.Errorf("imagePullSecrets %v", pull)
	}
	if svc := out.Services[0][1]; svc.GetLabels()["s-service"] != "web" {
		t.Errorf("service labels %v", svc.GetLabels())
	}
	c := out.Configs[0]
	if c.GetNamespace() != "shop-env-dev" || c.GetUID() != "" || c.GetResourceVersion() != "" || c.GetLabels()["s-env"] != "dev" || c.GetLabels()["s-service"] != "" {
		t.Errorf("config %v", c.Object["metadata"])
	}
	data, _, _ := unstructured.NestedString(out.Registry.Object, "data", ".dockerconfigjson")
	raw, _ := base64.StdEncoding.DecodeString(data)
	if out.Registry.GetName() != RegistrySecretName || !strings.Contains(string(raw), `"registry.example.com"`) || !strings.Contains(string(raw), base64.StdEncoding.EncodeToString([]byte("u:p"))) {
		t.Errorf("registry secret %s", raw)
	}
}

// Every error of every service and config is reported at once.
func TestEnvironmentReportsEveryError(t *testing.T) {
	_, err := Environment(Env{
		Scope: scope,
		Services: []EnvService{
			{Name: "a", Template: "{{ .x", Vars: nil},
			{Name: "b", Template: web, Vars: webVars, Settings: []Setting{{Key: "debug", Value: "perhaps"}}},
			{Name: "c", Template: web, Vars: webVars},
		},
		Configs: []EnvConfig{{Type: "Route", YAML: "x: y"}, {Type: "Secret", YAML: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}"}},
	})
	if !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	for _, part := range []string{"a: template does not parse", "service b", "debug", "env_configs[0]", "env_configs[1]", "exactly one Secret"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not report %q: %v", part, err)
		}
	}
}

// Ranges over lists and maps (with declarations, else branches and nested
// templates) render as plain text/template would.
func TestRangesOverListsAndMaps(t *testing.T) {
	const text = `{{ define "port" }}- {containerPort: {{ . }}}{{ end }}apiVersion: v1
kind: ConfigMap
metadata: {name: r}
data:
  ports: |
{{- range $i, $p := .ports }}
    {{ $i }}={{ $p }}{{ end }}
  labels: "{{ range $k, $v := .labels }}{{ $k }}:{{ $v }};{{ end }}"
  none: "{{ range .empty }}x{{ else }}none{{ end }}"
  nested: |
{{- range .ports }}{{ range $.ports }}
    {{ template "port" . }}{{ end }}{{ end }}
`
	vars := []Var{
		{Key: "ports", Type: TypeYAML, Value: "[80, 443]"},
		{Key: "labels", Type: TypeYAML, Value: "{a: x, b: z}"},
		{Key: "empty", Type: TypeYAML, Value: "[]"},
	}
	values, err := Resolve(vars, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Service(scope, "r", text, values)
	if err != nil {
		t.Fatal(err)
	}
	data, _, _ := unstructured.NestedStringMap(objs[0].Object, "data")
	want := map[string]string{"ports": "0=80\n1=443", "labels": "a:x;b:z;", "none": "none",
		"nested": "- {containerPort: 80}\n- {containerPort: 443}\n- {containerPort: 80}\n- {containerPort: 443}"}
	for k, v := range want {
		if strings.TrimSpace(data[k]) != v {
			t.Errorf("%s = %q, want %q", k, data[k], v)
		}
	}
}
