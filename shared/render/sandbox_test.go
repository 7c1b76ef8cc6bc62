package render

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/envhub/envhub/shared/errs"
)

// maxAlloc is what one render may allocate.
const maxAlloc = 64 << 20

// hostile is a template built to take the function down, with its
// variables; says is the rule that must stop it.
type hostile struct {
	name string
	text string
	vars []Var
	says string
}

func yamlList(n int, item string) string { return "[" + strings.Repeat(item+",", n-1) + item + "]" }

func str(key, value string) Var    { return Var{Key: key, Type: TypeString, Value: value} }
func ymlVar(key, value string) Var { return Var{Key: key, Type: TypeYAML, Value: value} }

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: |\n    "

// fanOut is t1 calling t2 twice, t2 calling t3 twice... n levels: 2^n calls.
func fanOut(n int) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `{{define "t%d"}}{{template "t%d" .}}{{template "t%d" .}}{{end}}`, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `{{define "t%d"}}x{{end}}%s{{template "t1" .}}`, n, cm)
	return b.String()
}

// chain is t1 calling t2 ... calling tn.
func chain(n int) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, `{{define "t%d"}}{{template "t%d" .}}{{end}}`, i, i+1)
	}
	fmt.Fprintf(&b, `{{define "t%d"}}x{{end}}%s{{template "t1" .}}`, n, cm)
	return b.String()
}

const lolBomb = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]`

// wideBomb expands 8 KB into 360,000 nodes (59 MiB to decode): few enough
// aliases for yaml.v2's "excessive aliasing" check to let it through.
var wideBomb = "a: &a " + yamlList(4000, "x") + "\nb: " + yamlList(90, "*a")

func hostiles() []hostile {
	oneMB := `{{$x := printf "%01000000d" 1}}`
	return []hostile{
		{"direct recursion", `{{define "a"}}{{template "a" .}}{{end}}` + cm + `{{template "a" .}}`, nil, "templates call themselves: a -> a"},
		{"mutual recursion", `{{define "a"}}{{template "b" .}}{{end}}{{define "b"}}{{template "a" .}}{{end}}{{template "a" .}}`, nil, "a -> b -> a"},
		{"recursion through the service", `{{define "a"}}{{template "svc" .}}{{end}}{{template "a" .}}`, nil, "a -> svc -> a"},
		{"fan-out 2^40", fanOut(40), nil, "more than 200000 steps"},
		{"printf doubling in a range", cm + `{{$x := "ab"}}{{range .l}}{{$x = printf "%s%s" $x $x}}{{end}}{{$x}}`,
			[]Var{ymlVar("l", yamlList(64, "1"))}, "allowed per value"},
		{"printf growth from 1 MB", cm + oneMB + `{{range .l}}{{$x = printf "%s%s" $x $x}}{{end}}`,
			[]Var{ymlVar("l", yamlList(64, "1"))}, "allowed per value"},
		{"many 1 MB variables", cm + strings.Repeat(oneMB, 40), nil, "functions allocate more than"},
		{"1 MB per iteration", cm + `{{range .l}}` + oneMB + `{{end}}`, []Var{ymlVar("l", yamlList(500, "1"))}, "functions allocate more than"},
		{"wide printf", cm + `{{printf "%09999999d" 1}}`, nil, "allowed per value"},
		{"width on every item", cm + `{{printf "%0999999v" .l}}`, []Var{ymlVar("l", yamlList(8, "1"))}, "allowed per value"},
		{"star widths", cm + `{{printf "%*d%*d" 1000000 1 1000000 2}}`, nil, "allowed per value"},
		{"nested ranges over big lists", cm + `{{range .l}}{{range $.l}}{{range $.l}}x{{end}}{{end}}{{end}}`,
			[]Var{ymlVar("l", yamlList(200, "1"))}, "ranges loop more than 10000 times"},
		{"big loop bodies", cm + `{{range .a}}{{range $.b}}` + strings.Repeat(`{{if eq 1 1}}{{end}}`, 10) + `{{end}}{{end}}`,
			[]Var{ymlVar("a", yamlList(100, "1")), ymlVar("b", yamlList(99, "1"))}, "more than 200000 steps"},
		{"huge nindent", cm + `{{nindent 1024 .s}}`, []Var{str("s", strings.Repeat("\n", 60000))}, "out of bounds"},
		{"nindent per iteration", cm + `{{range .l}}{{$x := nindent 1000 $.s}}{{end}}`,
			[]Var{ymlVar("l", yamlList(100, "1")), str("s", strings.Repeat("\n", 900))}, "functions allocate more than"},
		{"output repeated", cm + `{{range .l}}{{$.s}}{{end}}`,
			[]Var{ymlVar("l", yamlList(100, "1")), str("s", strings.Repeat("x", 60000))}, "renders more than 1048576 bytes"},
		{"repeat by width", cm + `{{range .l}}{{printf "%-1000000s" ""}}{{end}}`, []Var{ymlVar("l", yamlList(100, "1"))}, "renders more than 1048576 bytes"},
		{"quote of a huge value", cm + `{{quote (printf "%0500000d" 0)}}`, nil, "quote: result of up to"},
		{"quote of a huge variable", cm + `{{range .l}}{{$x := quote $.s}}{{end}}`,
			[]Var{ymlVar("l", yamlList(100, "1")), str("s", strings.Repeat("\x01", 60000))}, "functions allocate more than"},
		{"toYaml of a big list", cm + `{{toYaml .l}}{{toYaml .l}}`, []Var{ymlVar("l", yamlList(8000, "1"))}, "functions allocate more than"},
		{"toYaml of a deep value", cm + `{{toYaml .d}}`, []Var{ymlVar("d", strings.Repeat("{a: ", 800)+"1"+strings.Repeat("}", 800))}, "toYaml: result of up to"},
		{"toYaml per iteration", cm + `{{range .l}}{{$x := toYaml $.m}}{{end}}`,
			[]Var{ymlVar("l", yamlList(1000, "1")), ymlVar("m", yamlList(200, "{a: b}"))}, "functions allocate more than"},
		{"yaml bomb variable", cm + `{{.bomb}}`, []Var{ymlVar("bomb", lolBomb)}, "anchors and aliases are not allowed"},
		{"alias bomb yaml.v2 lets through", cm + `{{.bomb}}`, []Var{ymlVar("bomb", wideBomb)}, "anchors and aliases are not allowed"},
		{"yaml bomb in the template", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" + wideBomb, nil, "anchors and aliases are not allowed"},
		{"long call chain", chain(150), nil, "templates call each other more than 100 deep"},
		{"deep template nesting", cm + strings.Repeat(`{{if true}}`, 150) + strings.Repeat(`{{end}}`, 150), nil, "nest more than 100 deep"},
		{"deep yaml value", cm + `{{.d}}`, []Var{ymlVar("d", strings.Repeat("[", 30000)+strings.Repeat("]", 30000))}, "too complex to decode"},
		{"many yaml items", cm + `{{.l}}`, []Var{ymlVar("l", yamlList(30000, "1"))}, "too complex to decode"},
		{"yaml values too big together", cm + `{{.a}}{{.b}}{{.c}}`,
			[]Var{ymlVar("a", yamlList(4000, "1")), ymlVar("b", yamlList(4000, "1")), ymlVar("c", yamlList(4000, "1"))}, "too complex to decode"},
		{"value too long", cm + `{{.s}}`, []Var{str("s", strings.Repeat("x", 70000))}, "more than 65536 bytes"},
		{"template too long", cm + strings.Repeat("x", MaxTemplate), nil, "more than 262144 bytes"},
		{"tiny items rendered", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nx:\n{{range .l}}{{range $.l}}- []\n{{end}}{{end}}",
			[]Var{ymlVar("l", yamlList(99, "1"))}, "too complex to decode"},
		{"tiny items in the text", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nx: [" + strings.Repeat("[],", 80000) + "[]]", nil, "too complex to decode"},
		{"js escaping blowup", cm + `{{js (printf "%0500000d" 0)}}`, nil, "js: result of up to"},
		{"html escaping per iteration", cm + `{{range .l}}{{$x := html $.s}}{{end}}`,
			[]Var{ymlVar("l", yamlList(100, "1")), str("s", strings.Repeat("<", 60000))}, "functions allocate more than"},
		{"urlquery blowup", cm + `{{urlquery (printf "%0400000d" 0)}}`, nil, "urlquery: result of up to"},
		{"print of a big map per iteration", cm + `{{range .l}}{{$x := print $.m}}{{end}}`,
			[]Var{ymlVar("l", yamlList(1000, "1")), ymlVar("m", yamlList(2000, "{a: b}"))}, "functions allocate more than"},
		// Reading a value prints it unsized (plainValue): the output bound stops it.
		{"printing a big map per iteration", cm + `{{range .l}}{{$.m}}{{end}}`,
			[]Var{ymlVar("l", yamlList(1000, "1")), ymlVar("m", yamlList(2000, "{a: b}"))}, "renders more than"},
		{"comparing long strings", cm + oneMB + `{{$y := printf "%01000000d" 1}}{{range .l}}` + strings.Repeat(`{{if eq $x $y}}{{end}}`, 10) + `{{end}}`,
			[]Var{ymlVar("l", yamlList(5000, "1"))}, "more than 200000 steps"},
	}
}

// hostileEnv renders c at environment creation: harmless defaults, the
// hostile values as the env service's settings (every other one through a
// global variable).
func hostileEnv(c hostile) Env {
	e := Env{Scope: scope, Globals: map[string]string{}, Services: []EnvService{{Name: "svc", Template: c.text}}}
	s := &e.Services[0]
	for i, v := range c.vars {
		harmless := v
		harmless.Value = map[string]string{TypeYAML: "[]", TypeBool: "true"}[v.Type]
		s.Vars = append(s.Vars, harmless)
		if i%2 == 1 {
			e.Globals[v.Key] = v.Value
			s.Settings = append(s.Settings, Setting{Key: v.Key, UseGlobal: true})
		} else {
			s.Settings = append(s.Settings, Setting{Key: v.Key, Value: v.Value})
		}
	}
	return e
}

// allocated is what run allocates (runtime.MemStats.TotalAlloc; the cases
// run one at a time, so it is theirs) and how long it takes.
func allocated(run func() error) (uint64, time.Duration, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := run()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took, err
}

// Every hostile template ends in a 400 naming the rule, on save and at
// environment creation, within the memory budget. Time is logged, not
// asserted: steps and bytes must stop these long before the deadline.
func TestHostileTemplates(t *testing.T) {
	for _, c := range hostiles() {
		t.Run(c.name, func(t *testing.T) {
			for _, route := range []struct {
				name string
				run  func() error
			}{
				{"save", func() error { return Validate("svc", c.text, c.vars) }},
				{"create", func() error { _, err := Environment(hostileEnv(c)); return err }},
			} {
				alloc, took, err := allocated(route.run)
				t.Logf("%-6s %6.1f MiB %8.1f ms: %.160v", route.name, float64(alloc)/(1<<20), float64(took.Microseconds())/1000, err)
				if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), c.says) {
					t.Errorf("%s: want an invalid-request error saying %q, got %.300v", route.name, c.says, err)
				}
				if alloc > maxAlloc {
					t.Errorf("%s: allocated %d MiB, more than %d MiB", route.name, alloc>>20, maxAlloc>>20)
				}
			}
		})
	}
}
