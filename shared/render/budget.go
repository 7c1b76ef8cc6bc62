package render

import (
	"fmt"
	"reflect"
	"text/template"
	"time"
)

// A template is hostile input: rendering one spends a budget, so that no
// template, whatever its variables, takes more than about a second of CPU or
// 64 MiB of memory. Steps and bytes trip well before the deadline, which is
// only a backstop.
const (
	// MaxOutput bounds what one service renders, and every value a function
	// returns (printf, toYaml, indent...).
	MaxOutput = 1 << 20
	// MaxIterations bounds how many items the ranges of one render loop over
	// in all: counted before a range starts, so a huge list is refused at once.
	MaxIterations = 10_000
	// MaxSteps bounds the parse-tree nodes one render evaluates: each range
	// iteration and template call costs the size of its body up front, each
	// call of a guarded function and each printed action one more, and
	// comparisons and index one more per 4 KiB of string they read.
	MaxSteps = 200_000
	// MaxFuncAlloc bounds what the guarded functions allocate in one render,
	// estimated before each call from an upper bound of its result: fmt and
	// the escapers allocate about 3 bytes per byte they return (a buffer
	// grown by doubling, then the string), %q about 5, toYaml ~2 KiB per
	// node. So functions return at most ~5 MiB in all.
	MaxFuncAlloc = 16 << 20
	// Deadline bounds one render's wall-clock time, checked at every step.
	Deadline = time.Second
	// MaxEnvOutput and EnvDeadline bound a whole environment (all its
	// services): what it holds decoded, and the time, inside a request's.
	MaxEnvOutput = 16 << 20
	EnvDeadline  = 8 * time.Second
)

// Names of the functions guard.go inserts into parse trees.
const (
	guardRange = "envhubRange"
	guardStep  = "envhubStep"
	guardPrint = "envhubPrint"
)

// budget is what one render may still spend.
type budget struct {
	steps, iterations, bytes int
	deadline                 time.Time
}

func newBudget() *budget {
	return &budget{steps: MaxSteps, iterations: MaxIterations, bytes: MaxFuncAlloc, deadline: time.Now().Add(Deadline)}
}

// step spends n steps and checks the deadline.
func (b *budget) step(n int) error {
	if b.steps -= max(n, 1); b.steps < 0 {
		return fmt.Errorf("render budget: evaluates more than %d steps (template calls, range iterations, actions)", MaxSteps)
	}
	if time.Now().After(b.deadline) {
		return fmt.Errorf("render budget: takes longer than %v", Deadline)
	}
	return nil
}

// produce admits one call of fn that returns at most size bytes and
// allocates at most alloc.
func (b *budget) produce(fn string, size, alloc int) error {
	if size > MaxOutput {
		return fmt.Errorf("%s: result of up to %d bytes is more than the %d allowed per value", fn, size, MaxOutput)
	}
	if err := b.step(1); err != nil {
		return err
	}
	if b.bytes -= alloc; b.bytes < 0 {
		return fmt.Errorf("render budget: functions allocate more than %d MiB in all", MaxFuncAlloc>>20)
	}
	return nil
}

// ranged lets lists and maps through a range, counting their items.
func (b *budget) ranged(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		if b.iterations -= rv.Len(); b.iterations < 0 {
			return nil, fmt.Errorf("ranges loop more than %d times in all", MaxIterations)
		}
		return v, nil
	}
	return nil, fmt.Errorf("range over %T is not allowed: range over lists and maps", v)
}

// printed is what every printing action ends in: strings pass as they are
// (the output buffer bounds them); other values are sized before fmt
// formats them, as text/template would have.
func (b *budget) printed(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, b.step(1)
	case nil:
		return "<no value>", b.step(1) // what text/template prints for a missing value
	}
	s, err := shapeOf(v, 2*MaxOutput)
	if err != nil {
		return "", fmt.Errorf("print: %w", err)
	}
	size := s.size(false, false, 0)
	if err := b.produce("print", size, 3*size+s.work()); err != nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}

// touch spends a step per 4 KiB of the strings a comparison or an index
// reads (comparing them, hashing a map key): without it, one such step
// could take a thousand times longer than any other.
func (b *budget) touch(a reflect.Value, more []reflect.Value) error {
	n := 1 + strLen(a)/4096
	for _, v := range more {
		n += strLen(v) / 4096
	}
	return b.step(n)
}

func strLen(v reflect.Value) int {
	if v = indirectInterface(v); v.Kind() == reflect.String {
		return v.Len()
	}
	return 0
}

func (b *budget) compare(cmp func(a, b reflect.Value) (bool, error)) func(a, b reflect.Value) (bool, error) {
	return func(x, y reflect.Value) (bool, error) {
		if err := b.touch(x, []reflect.Value{y}); err != nil {
			return false, err
		}
		return cmp(x, y)
	}
}

// funcs are the functions templates see, all bounded by the budget.
func (b *budget) funcs() template.FuncMap {
	return template.FuncMap{
		"printf": b.printf, "print": b.print, "println": b.println,
		"html": b.escaper("html", 6, template.HTMLEscaper), "js": b.escaper("js", 6, template.JSEscaper),
		"urlquery": b.escaper("urlquery", 3, template.URLQueryEscaper),
		"toYaml":   b.toYaml, "indent": b.indent, "nindent": b.nindent, "quote": b.quote,
		"eq": func(a reflect.Value, bs ...reflect.Value) (bool, error) {
			if err := b.touch(a, bs); err != nil {
				return false, err
			}
			return eq(a, bs...)
		},
		"ne": b.compare(ne), "lt": b.compare(lt), "le": b.compare(le), "gt": b.compare(gt), "ge": b.compare(ge),
		"index": func(item reflect.Value, indexes ...reflect.Value) (reflect.Value, error) {
			if err := b.touch(item, indexes); err != nil {
				return reflect.Value{}, err
			}
			return index(item, indexes...)
		},
		guardRange: b.ranged,
		guardStep:  func(n int) (string, error) { return "", b.step(n) },
		guardPrint: b.printed,
	}
}
