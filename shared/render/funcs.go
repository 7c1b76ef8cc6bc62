package render

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// The functions below replace text/template's printing builtins and the
// helpers templates commonly need. Each bounds its result before building
// it (refusing more than MaxOutput) and spends what building it allocates
// from the render's budget (MaxFuncAlloc).

// shapes sizes a function's arguments.
func shapes(fn string, args []any) ([]shape, error) {
	sh := make([]shape, len(args))
	for i, a := range args {
		s, err := shapeOf(a, 2*MaxOutput)
		if err != nil {
			return nil, fmt.Errorf("%s: argument %d: %w", fn, i+1, err)
		}
		sh[i] = s
	}
	return sh, nil
}

func work(sh []shape) (n int) {
	for _, s := range sh {
		n += s.work()
	}
	return n
}

// sprintSize bounds fmt.Sprint (sep: Sprintln's spaces and newline).
func sprintSize(sh []shape) (n int) {
	for _, s := range sh {
		n += s.size(false, false, 0) + 2
	}
	return n
}

func (b *budget) printf(format string, args ...any) (string, error) {
	sh, err := shapes("printf", args)
	if err != nil {
		return "", err
	}
	size := printfSize(format, args, sh, 2*MaxOutput)
	if err := b.produce("printf", size, 3*size+work(sh)); err != nil {
		return "", err
	}
	return fmt.Sprintf(format, args...), nil
}

func (b *budget) print(args ...any) (string, error) {
	sh, err := shapes("print", args)
	if err != nil {
		return "", err
	}
	size := sprintSize(sh)
	if err := b.produce("print", size, 3*size+work(sh)); err != nil {
		return "", err
	}
	return fmt.Sprint(args...), nil
}

func (b *budget) println(args ...any) (string, error) {
	sh, err := shapes("println", args)
	if err != nil {
		return "", err
	}
	size := sprintSize(sh) + 1
	if err := b.produce("println", size, 3*size+work(sh)); err != nil {
		return "", err
	}
	return fmt.Sprintln(args...), nil
}

// escaper bounds one of text/template's escapers: they print their
// arguments (fmt.Sprint, or a lone string as is), then escape each byte into
// at most grow bytes (html: "&#34;", js: "\u003C", urlquery: "%3C").
func (b *budget) escaper(fn string, grow int, escape func(...any) string) func(...any) (string, error) {
	return func(args ...any) (string, error) {
		sh, err := shapes(fn, args)
		if err != nil {
			return "", err
		}
		size := grow * (sprintSize(sh) + len("<no value>"))
		if err := b.produce(fn, size, 3*size+work(sh)); err != nil {
			return "", err
		}
		return escape(args...), nil
	}
}

// toYaml goes through JSON and back (sigs.k8s.io/yaml), about 2 KiB of
// allocation per node whatever it prints, so its work counts that too.
func (b *budget) toYaml(v any) (string, error) {
	y, err := yamlSizeOf(v, 2*MaxOutput)
	if err != nil {
		return "", fmt.Errorf("toYaml: %w", err)
	}
	if err := b.produce("toYaml", y.size, y.size+y.json+2048*y.nodes); err != nil {
		return "", err
	}
	out, err := yaml.Marshal(v)
	return strings.TrimSuffix(string(out), "\n"), err
}

func (b *budget) quote(v any) (string, error) {
	s, err := shapeOf(v, 2*MaxOutput)
	if err != nil {
		return "", fmt.Errorf("quote: %w", err)
	}
	plain := s.size(false, false, 0)
	size := 4*plain + 2 // %q escapes a byte into at most 4 ("\x80")
	if err := b.produce("quote", size, 3*plain+5*size+s.work()); err != nil {
		return "", err
	}
	return fmt.Sprintf("%q", fmt.Sprint(v)), nil
}

func (b *budget) indent(n int, s string) (string, error) {
	size, err := indentSize(n, s)
	if err != nil {
		return "", err
	}
	if err := b.produce("indent", size, 3*size); err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

func (b *budget) nindent(n int, s string) (string, error) {
	out, err := b.indent(n, s)
	return "\n" + out, err
}

// indentSize refuses sizes past MaxOutput before allocating them.
func indentSize(n int, s string) (int, error) {
	if n < 0 || n > 1024 {
		return 0, fmt.Errorf("indent %d of %d bytes is out of bounds", n, len(s))
	}
	size := n*(strings.Count(s, "\n")+1) + len(s) + 1
	if size > MaxOutput {
		return 0, fmt.Errorf("indent %d of %d bytes is out of bounds: more than %d bytes", n, len(s), MaxOutput)
	}
	return size, nil
}
