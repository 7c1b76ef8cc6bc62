package render

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"text/template"

	yaml3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// args are values of every kind template data and literals hold.
var args = []any{
	"", "plain", "\x00\x01\x80\xff ü\u2028\U000E0001<&>'\"\\\n\t %", strings.Repeat("ab ", 40),
	0, -1, math.MinInt64, uint64(math.MaxUint64), int32('x'), 1.5, -math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Inf(-1), math.NaN(), complex(-math.MaxFloat64, math.MaxFloat64), true, false, nil, []byte("ab\x80"),
	[]any{}, []any{"a", 1.0, nil, []any{true}}, map[string]any{}, map[string]any{"k": []any{"v", map[string]any{"n": nil}}, "\x01": -2e300},
}

// The bound printfSize computes before formatting is never below what fmt
// prints.
func TestPrintfSizeIsAnUpperBound(t *testing.T) {
	verbs := []string{"v", "+v", "#v", "T", "t", "b", "c", "d", "o", "O", "q", "+q", "#q", "x", "X", "# x", "% #X", "U", "#U",
		"e", "E", "f", "F", "g", "#g", "G", "s", "p", "w", "%", "!", "ü"}
	mods := []string{"", "7", "-12", "012", ".3", "8.30", ".0", "*", ".*", "*.*", "[1]", "[2]", "[9]", "[x]", "[1]*", "99999999999", "[]", "[1"}
	for _, v := range verbs {
		for _, m := range mods {
			format := "a%" + m + v + "b"
			for _, a := range args {
				for _, as := range [][]any{{a}, {a, 5}, {5, a}, {a, a, a}, {}} {
					sh, err := shapes("printf", as)
					if err != nil {
						t.Fatal(err)
					}
					got, want := printfSize(format, as, sh, math.MaxInt), len(fmt.Sprintf(format, as...))
					if got < want {
						t.Errorf("printf %q %#v: bound %d < %d", format, as, got, want)
					}
				}
			}
		}
	}
	for _, format := range []string{"%[2]*[1]d", "%[3]*.[2]*[1]f", "%d %d %#[1]x %#x", "%[1]d%[1]*d", "%.[2]d", "%!", "%", "%-+# 0[1]v", "%[1]%"} {
		as := []any{12, 3, "s", 7.5}
		sh, _ := shapes("printf", as)
		if got, want := printfSize(format, as, sh, math.MaxInt), len(fmt.Sprintf(format, as...)); got < want {
			t.Errorf("printf %q: bound %d < %d", format, got, want)
		}
	}
}

func TestSprintSizesAreUpperBounds(t *testing.T) {
	for _, a := range args {
		for _, as := range [][]any{{a}, {a, a}, {a, "s", a}} {
			sh, _ := shapes("print", as)
			n := sprintSize(sh)
			if len(fmt.Sprint(as...)) > n || len(fmt.Sprintln(as...)) > n+1 {
				t.Errorf("print %#v: bound %d", as, n)
			}
			for name, e := range map[string]struct {
				grow int
				fn   func(...any) string
			}{"html": {6, template.HTMLEscaper}, "js": {6, template.JSEscaper}, "urlquery": {3, template.URLQueryEscaper}} {
				if got := len(e.fn(as...)); got > e.grow*(n+len("<no value>")) {
					t.Errorf("%s %#v: %d bytes, bound %d", name, as, got, e.grow*(n+10))
				}
			}
		}
		s, _ := shapeOf(a, math.MaxInt)
		if q := len(fmt.Sprintf("%q", fmt.Sprint(a))); q > 4*s.size(false, false, 0)+2 {
			t.Errorf("quote %#v: %d bytes", a, q)
		}
	}
}

func TestYAMLSizeIsAnUpperBound(t *testing.T) {
	long := strings.Repeat("word ", 300) + "\n" + strings.Repeat("line\n", 50) + "\x01\u2028ü"
	deep := any(long)
	for range 60 {
		deep = map[string]any{"key with spaces " + long[:40]: []any{deep, long}}
	}
	for _, v := range append(args[:len(args):len(args)], long, deep, []any{[]any{[]any{"a b"}}}, map[string]any{strings.Repeat("k", 200): "v"}) {
		y, err := yamlSizeOf(v, math.MaxInt)
		out, yamlErr := yaml.Marshal(v)
		if err != nil && yamlErr == nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if err == nil && len(out) > y.size {
			t.Errorf("toYaml %.80v: %d bytes, bound %d", v, len(out), y.size)
		}
	}
}

// anchored finds every anchor yaml.v3 parses, and not the & of ordinary text.
func TestAnchored(t *testing.T) {
	for _, s := range []string{"a: &x 1", "&x a", "- &x-y_1 [1]", "[&x 1, *x]", "{a: &x 1}", "{\"a\":&x 1}", "a:\n  - b\n  - &x\n", "[a,&x b]",
		"? &x a\n: b", "a: !!str &x b", "a: &x\tb", "- a\n- &x {b: c}", "k: &x\n  a: 1", "a: &x \"q\"", "a: [&x 1]"} {
		var n yaml3.Node
		if err := yaml3.Unmarshal([]byte(s), &n); err != nil || !hasAnchor(&n) {
			t.Fatalf("test case %q has no anchor: %v", s, err)
		}
		if !anchored(s) {
			t.Errorf("anchored(%q) = false", s)
		}
	}
	for _, s := range []string{`command: ["sh", "-c", "apt-get update && apt-get install -y x"]`, "url: http://x/?a=1&b=2", `schedule: "*/5 * * * *"`,
		"name: Tom & Jerry", "html: a &amp; b", "cmd: run &>/dev/null", "a: b&c"} {
		if anchored(s) {
			t.Errorf("anchored(%q) = true", s)
		}
	}
}

func hasAnchor(n *yaml3.Node) bool {
	if n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if hasAnchor(c) {
			return true
		}
	}
	return false
}

// Decoding what a service renders (cluster.Decode) stays within what
// decodeCost estimates, for the worst shapes per byte; at 1 MiB they cost
// 130-215 MiB to decode and are refused before.
func TestDecodeCostBoundsDecoding(t *testing.T) {
	head := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
	keys := func(format string, n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	shapes := map[string]func(n int) string{
		"flow empty lists": func(n int) string { return head + "x: [" + strings.Repeat("[],", n/3) + "1]\n" },
		"block nulls":      func(n int) string { return head + "x:\n" + strings.Repeat("-\n", n/2) },
		"block null keys":  func(n int) string { return head + "x:\n" + keys("%x:\n", n) },
		"flow null keys":   func(n int) string { return head + "x: {" + keys("%x,", n) + "}\n" },
		"flow pairs":       func(n int) string { return head + "x: [" + keys("%x: 1,", n) + "]\n" },
		"explicit keys":    func(n int) string { return head + "x:\n" + strings.Repeat("?\n", n/2) },
		"documents":        func(n int) string { return strings.Repeat("---\n{apiVersion: v1,kind: C,metadata: {name: x}}\n", n/50) },
		"deep":             func(n int) string { return head + "x: " + strings.Repeat("[", n/2) + strings.Repeat("]", n/2) + "\n" },
		"escaped string":   func(n int) string { return head + "x: \"" + strings.Repeat(`\x01`, n/4) + "\"\n" },
		"literal text": func(n int) string {
			return head + "x: |\n" + strings.Repeat("    some text here, and more: [a] -b\n", n/37)
		},
	}
	for name, gen := range shapes {
		if cost := decodeCost(gen(MaxOutput)); cost <= MaxDecode {
			t.Errorf("%s: 1 MiB costs %d MiB, not refused", name, cost>>20)
		}
		n := MaxOutput // the largest that passes
		for decodeCost(gen(n)) > MaxDecode {
			n = n * 9 / 10
		}
		doc := gen(n)
		if name == "deep" {
			doc = gen(18000) // sigs.k8s.io/yaml refuses nesting past 10,000
		}
		alloc, took, err := allocated(func() error { _, err := cluster.Decode([]byte(doc)); return err })
		t.Logf("%-16s %7d bytes: decoding allocates %5.1f MiB (estimate %5.1f) in %v; %.60v", name, len(doc), float64(alloc)/(1<<20), float64(decodeCost(doc))/(1<<20), took, err)
		if alloc > uint64(decodeCost(doc)) {
			t.Errorf("%s: decoding allocates %d bytes, more than the estimate %d", name, alloc, decodeCost(doc))
		}
	}
}

// plainFuncs are the helpers as they were before the budget.
var plainFuncs = template.FuncMap{
	"toYaml": func(v any) (string, error) {
		b, err := yaml.Marshal(v)
		return strings.TrimSuffix(string(b), "\n"), err
	},
	"indent": func(n int, s string) string {
		return strings.Repeat(" ", n) + strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
	},
	"nindent": func(n int, s string) string {
		return "\n" + strings.Repeat(" ", n) + strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
	},
	"quote": func(s any) string { return fmt.Sprintf("%q", fmt.Sprint(s)) },
}

// Guarded templates render exactly what plain text/template renders.
func TestGuardedRendersAsBefore(t *testing.T) {
	data := map[string]any{"s": "a<b>&'\"", "n": 3.0, "b": true, "z": nil, "l": []any{1.0, "two", nil, map[string]any{"k": "v"}},
		"m": map[string]any{"x": []any{1.0}, "y": nil, "e": map[string]any{}}, "big": strings.Repeat("long line ", 50)}
	for _, text := range []string{
		`{{.s}} {{.n}} {{.b}} {{.z}} {{.l}} {{.m}} {{.m.y}} {{index .l 2}} {{index .m "y"}} {{.}}`,
		`{{printf "%v|%q|%5.2f|%x|%T|%d" .l .s .n .s .m .n}} {{print .s 1 2 "x" .z}} {{println .l .b}}`,
		`{{html .s}} {{js .s}} {{urlquery .s .n}} {{html .z}} {{quote .s}} {{quote .z}} {{quote .l}}`,
		`{{toYaml .m}}{{toYaml .l | nindent 4}}{{indent 2 .big}}{{toYaml .z}}{{toYaml .s}}`,
		`{{eq .n 3.0}} {{eq .s "x" "a<b>&'\""}} {{ne .b false}} {{lt 1 2}} {{le "a" "b"}} {{gt 2.5 1.5}} {{ge 1 1}} {{eq .z nil}} {{eq .m.y .z}}`,
		`{{define "item"}}<{{.}}>{{end}}{{range $i, $v := .l}}{{$i}}:{{template "item" $v}}{{else}}none{{end}}` +
			`{{range .m}}[{{.}}]{{end}}{{range $k, $v := .m}}{{if eq $k "y"}}{{continue}}{{end}}{{$k}}{{if $v}}{{break}}{{end}}{{end}}` +
			`{{with .m.x}}{{.}}{{else with .s}}{{.}}{{end}}{{block "b" .n}}{{.}}{{end}}{{$x := 1}}{{$x = 2}}{{$x}}`,
		`{{range .l}}{{range $.l}}.{{end}}{{end}}{{if and .s (not .z) (or .z .n)}}yes{{end}}{{len .l}}{{slice .s 1 3}}`,
	} {
		var want, got strings.Builder
		plain := template.Must(template.New("t").Option("missingkey=error").Funcs(plainFuncs).Parse(text))
		if err := plain.Execute(&want, data); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		guarded, err := Parse("t", text)
		if err != nil {
			t.Fatal(err)
		}
		if err := guarded.Execute(&got, data); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got.String() != want.String() {
			t.Errorf("%s:\n got %q\nwant %q", text, got.String(), want.String())
		}
	}
}

// Ordinary heavy use fits the budgets with room to spare.
func TestOrdinaryTemplatesFit(t *testing.T) {
	env := yamlList(300, `{name: VAR_NAME, value: "some value"}`)
	text := `{{range $i, $p := .ports}}apiVersion: v1
kind: Service
metadata:
  name: svc-{{$i}}
  labels: {{toYaml $.labels | nindent 4}}
spec:
  selector: {app: {{printf "%s-%d" $.name $i | quote}}}
  ports: [{port: {{$p}}, name: {{printf "p%v" $p}}}]
---
{{end}}apiVersion: v1
kind: ConfigMap
metadata: {name: env}
data:
  env: |
{{toYaml .env | indent 4}}
  text: |
    {{.text}}
`
	vars := []Var{ymlVar("ports", yamlList(100, "8080")), ymlVar("labels", "{a: b, c: d, e: f}"), str("name", "web"),
		ymlVar("env", env), str("text", strings.Repeat("x", 60000))}
	alloc, took, err := allocated(func() error { return Validate("web", text, vars) })
	t.Logf("100 services, toYaml of 300 items: %.1f MiB in %v", float64(alloc)/(1<<20), took)
	if err != nil {
		t.Fatal(err)
	}
	// 420 KB of a config file in a ConfigMap.
	literal := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  f: |\n"
	var files []Var
	for i := range 7 {
		literal += fmt.Sprintf("{{indent 4 .f%d}}\n", i)
		files = append(files, str(fmt.Sprintf("f%d", i), strings.Repeat("plain text of a config file\n", 2200)))
	}
	if err := Validate("cfg", literal, files); err != nil {
		t.Fatalf("420 KB of literal text: %v", err)
	}
}

// Documents are decoded one at a time, so one is bounded by MaxDecode and
// all together by MaxDecodeTotal: 3,000 small objects of one service render
// (decoding holds one document at a time), 1 MiB of tiny documents does not.
func TestManyDocuments(t *testing.T) {
	const text = `{{ range $i, $_ := .items }}---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-{{ $i }}}
data: {version: "1"}
{{ end }}`
	items := "[" + strings.TrimSuffix(strings.Repeat("0,", 3000), ",") + "]"
	values, err := Resolve([]Var{{Key: "items", Type: TypeYAML, Value: items}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	alloc, took, err := allocated(func() error { var err error; objs, err = Service(scope, "many", text, values); return err })
	if err != nil || len(objs) != 3000 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	t.Logf("3,000 documents: %.1f MiB allocated in %v", float64(alloc)/(1<<20), took)
	tiny := strings.Repeat("---\n{apiVersion: v1,kind: C,metadata: {name: x}}\n", MaxOutput/50)
	if err := checkDocuments(tiny); err == nil || !strings.Contains(err.Error(), "all documents") {
		t.Fatalf("1 MiB of tiny documents: %v", err)
	}
}

// An environment's services share one more budget: many services, each
// within its own, cannot add up past what one request may render.
func TestEnvironmentBudget(t *testing.T) {
	const big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $Service$}\ndata: {a: \"{{ printf \"%400000s\" \"\" }}\"}\n"
	var services []EnvService
	for i := 0; i < 45; i++ {
		services = append(services, EnvService{Name: fmt.Sprintf("s%02d", i), Template: big})
	}
	_, err := Environment(Env{Scope: scope, Services: services})
	if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "split it") {
		t.Fatalf("45 services of 400 KB: %v", err)
	}
	if _, err := Environment(Env{Scope: scope, Services: services[:20]}); err != nil {
		t.Fatalf("20 services of 400 KB: %v", err)
	}
}
