package render

import (
	"bytes"
	"fmt"
	"testing"
	"text/template"
	"time"
)

// benchTemplate is an ordinary service: values, a condition, ranges over
// lists and maps, printf. It uses only text/template's builtins, so plain
// text/template can run it as it is.
const benchTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels: {app: {{ .name }}, tier: {{ .tier }}}
spec:
  replicas: {{ .replicas }}
  selector: {matchLabels: {app: {{ .name }}}}
  template:
    metadata: {labels: {app: {{ .name }}}}
    spec:
      containers:
      - name: main
        image: {{ printf "%s/%s:%s" .registry .name .tag }}
        {{- if .debug }}
        args: ["--debug"]
        {{- end }}
        env:
        {{- range $k, $v := .env }}
        - {name: {{ $k }}, value: {{ printf "%q" $v }}}
        {{- end }}
        ports:
        {{- range .ports }}
        - {containerPort: {{ . }}}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata: {name: {{ .name }}}
spec:
  selector: {app: {{ .name }}}
  ports:
  {{- range .ports }}
  - {port: {{ . }}, targetPort: {{ . }}}
  {{- end }}
`

func benchValues(i int) map[string]any {
	env := map[string]any{}
	for k := 0; k < 10; k++ {
		env[fmt.Sprintf("VAR_%d", k)] = fmt.Sprintf("value-%d-%d", i, k)
	}
	return map[string]any{"name": fmt.Sprintf("svc-%d", i), "tier": "web", "replicas": 2, "registry": "registry.example.com/shop",
		"tag": "1.4.2", "debug": i%2 == 0, "env": env, "ports": []any{8080, 8443, 9090}}
}

// BenchmarkRender20Services renders the templates of a 20-service
// environment (parse and execute) in the sandbox (render.Parse: guarded
// ranges, budgeted functions, bounded output) and with plain
// text/template, alternating, and reports the ratio (target <= 1.2).
func BenchmarkRender20Services(b *testing.B) {
	values := make([]map[string]any, 20)
	for i := range values {
		values[i] = benchValues(i)
	}
	sandboxed := func() {
		for i, v := range values {
			t, err := Parse(fmt.Sprintf("svc-%d", i), benchTemplate)
			if err != nil {
				b.Fatal(err)
			}
			var out limited
			if err := t.Execute(&out, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	plain := func() {
		for i, v := range values {
			t, err := template.New(fmt.Sprintf("svc-%d", i)).Option("missingkey=error").Parse(benchTemplate)
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			if err := t.Execute(&out, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	var inSandbox, inPlain time.Duration
	rounds := max(b.N, 200)
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		first, second, a, z := sandboxed, plain, &inSandbox, &inPlain
		if r%2 == 1 { // each goes first in turn
			first, second, a, z = plain, sandboxed, &inPlain, &inSandbox
		}
		start := time.Now()
		first()
		*a += time.Since(start)
		start = time.Now()
		second()
		*z += time.Since(start)
	}
	s, p := inSandbox/time.Duration(rounds), inPlain/time.Duration(rounds)
	fmt.Printf("\nRender of 20 services (parse + execute), mean of %d rounds:\n  sandbox %v, plain text/template %v: %.2fx (target <= 1.2)\n\n",
		rounds, s.Round(time.Microsecond), p.Round(time.Microsecond), float64(s)/float64(p))
	b.ReportMetric(float64(s.Microseconds()), "sandbox-us")
	b.ReportMetric(float64(p.Microseconds()), "plain-us")
}
