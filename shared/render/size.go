package render

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Upper bounds of what fmt prints for one leaf, whatever the verb and flags
// (bad verbs included, e.g. "%!d(string=...)"): floats print up to ~320
// digits with %f, and ~25 with any other verb.
const (
	numSize   = 150
	floatSize = 700 // %f of a complex128
	otherSize = 24  // bools, nils: "%!d(bool=false)", "interface {}(nil)"
	verbSize  = 64  // "%!d(" + a type name + ")" around a bad verb's value
)

var errTooBig = fmt.Errorf("value is too large: more than %d bytes or items", 2*MaxOutput)

// shape counts what printing a value walks through: fmt's output is at most
// linear in these, and so is the work of walking it.
type shape struct {
	str, strs   int // bytes of strings (map keys included) and how many
	nums, other int // numbers; bools and nils
	boxes       int // slices, arrays and maps
	types       int // bytes of their type names (%#v prints them)
	elems       int // their elements and entries
	nodes       int
}

// shapeOf walks v, giving up past limit nodes and string bytes: every node
// prints at least a byte, so anything bigger is refused anyway.
func shapeOf(v any, limit int) (shape, error) {
	var s shape
	err := s.add(reflect.ValueOf(v), limit)
	return s, err
}

func (s *shape) add(v reflect.Value, limit int) error {
	if s.nodes++; s.nodes+s.str > limit {
		return errTooBig
	}
	switch v.Kind() {
	case reflect.Invalid, reflect.Bool:
		s.other++
	case reflect.Interface:
		if v.IsNil() {
			s.other++
			return nil
		}
		return s.add(v.Elem(), limit)
	case reflect.String:
		s.strs++
		s.str += v.Len()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr, reflect.Float32, reflect.Float64,
		reflect.Complex64, reflect.Complex128:
		s.nums++
	case reflect.Slice, reflect.Array, reflect.Map:
		s.boxes++
		s.types += len(v.Type().String())
		s.elems += v.Len()
		if v.Kind() == reflect.Map {
			for it := v.MapRange(); it.Next(); {
				if err := s.add(it.Key(), limit); err != nil {
					return err
				}
				if err := s.add(it.Value(), limit); err != nil {
					return err
				}
			}
			return nil
		}
		for i := range v.Len() {
			if err := s.add(v.Index(i), limit); err != nil {
				return err
			}
		}
	default: // structs, pointers, funcs: template data holds none
		return fmt.Errorf("cannot format a %s", v.Type())
	}
	return nil
}

// size bounds what fmt prints for the value with one verb. Plain verbs (%s,
// %v) print strings as they are; wide ones may turn each byte into up to 6
// (%q, % #x) and print type names (%#v); pad (width plus precision) applies
// to every leaf, map keys included.
func (s shape) size(wide, float bool, pad int) int {
	leaves := s.strs + s.nums + s.other
	n := s.str + s.nums*numSize + s.other*otherSize + s.boxes*8 + s.elems*3 + leaves*pad
	if wide {
		n += 5*s.str + 2*s.strs + s.types + verbSize
	}
	if float {
		n += s.nums * (floatSize - numSize)
	}
	return n
}

// work is what formatting costs beyond its output (fmt sorts map keys).
func (s shape) work() int { return 64 * s.nodes }

// widest is a shape at least as large as each of ss, component by component.
func widest(ss []shape) shape {
	var w shape
	for _, s := range ss {
		w.str, w.strs, w.nums, w.other = max(w.str, s.str), max(w.strs, s.strs), max(w.nums, s.nums), max(w.other, s.other)
		w.boxes, w.types, w.elems = max(w.boxes, s.boxes), max(w.types, s.types), max(w.elems, s.elems)
	}
	return w
}

// printfSize bounds len(fmt.Sprintf(format, a...)), following fmt's
// doPrintf: literal text, then per verb its argument's size with the verb's
// width and precision (fmt parses up to ~1e7 from digits, 1e6 from a *
// argument). Once a format uses explicit argument indexes ([n]) every verb
// is charged the widest argument. It stops counting past limit.
func printfSize(format string, a []any, sh []shape, limit int) int {
	end, n, argNum := len(format), 0, 0
	reordered := strings.IndexByte(format, '[') >= 0
	all := widest(sh)
	for i := 0; i < end && n <= limit; {
		lasti := i
		for i < end && format[i] != '%' {
			i++
		}
		n += i - lasti
		if i >= end {
			break
		}
		i++
		sharp := false
	flags:
		for ; i < end; i++ {
			switch format[i] {
			case '#':
				sharp = true
			case '0', '+', '-', ' ':
			default:
				break flags
			}
		}
		var wid, prec int
		afterIndex := false
		argNum, i, afterIndex = argIndex(argNum, format, i, len(a))
		if i < end && format[i] == '*' {
			i++
			wid, argNum = intArg(a, argNum)
			afterIndex = false
		} else {
			wid, _, i = parsenum(format, i, end)
		}
		if i+1 < end && format[i] == '.' {
			i++
			argNum, i, afterIndex = argIndex(argNum, format, i, len(a))
			if i < end && format[i] == '*' {
				i++
				prec, argNum = intArg(a, argNum)
				afterIndex = false
			} else {
				prec, _, i = parsenum(format, i, end)
			}
		}
		if !afterIndex {
			argNum, i, _ = argIndex(argNum, format, i, len(a))
		}
		n += 48 // %!(BADWIDTH), %!(BADPREC), then %!(NOVERB), %!v(MISSING) or %!v(BADINDEX)
		if i >= end {
			break
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		switch wide := !(verb == 's' || verb == 'v') || sharp; {
		case verb == '%':
			n++
		case reordered:
			n += all.size(wide, verb == 'f' || verb == 'F', wid+prec) + size
		case argNum < len(a):
			n += sh[argNum].size(wide, verb == 'f' || verb == 'F', wid+prec) + size
			argNum++
		}
	}
	for j := min(argNum, len(a)); j < len(a) && n <= limit; j++ { // %!(EXTRA type=value, ...)
		n += sh[j].size(true, false, 0)
	}
	return n
}

// argIndex is fmt's argNumber: an explicit argument index [n] at i.
func argIndex(argNum int, format string, i, numArgs int) (newArgNum, newi int, found bool) {
	if i >= len(format) || format[i] != '[' {
		return argNum, i, false
	}
	for j := i + 1; j < len(format); j++ {
		if format[j] == ']' {
			idx, ok, k := parsenum(format, i+1, j)
			if !ok || k != j {
				return argNum, j + 1, false
			}
			if idx >= 1 && idx <= numArgs {
				return idx - 1, j + 1, true
			}
			return argNum, j + 1, true
		}
	}
	return argNum, i + 1, false
}

// parsenum is fmt's: an overlong number eats the rest of the format.
func parsenum(s string, start, end int) (num int, isnum bool, newi int) {
	for newi = start; newi < end && '0' <= s[newi] && s[newi] <= '9'; newi++ {
		if num > 1e6 {
			return 0, false, end
		}
		num = num*10 + int(s[newi]-'0')
		isnum = true
	}
	return num, isnum, newi
}

// intArg is a * width or precision: an integer argument of at most 1e6
// either way, else fmt ignores it.
func intArg(a []any, argNum int) (int, int) {
	if argNum >= len(a) {
		return 0, argNum
	}
	v := reflect.ValueOf(a[argNum])
	var n int64
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n = int64(min(v.Uint(), 1<<62))
	}
	if n < -1e6 || n > 1e6 {
		n = 0
	}
	return int(max(n, -n)), argNum + 1
}

// yamlShape bounds toYaml's output for v: sigs.k8s.io/yaml prints block
// YAML indented two spaces per level, may quote and escape a string (4
// bytes per byte at worst) and folds long ones at spaces and line breaks,
// each fold a new indented line. nodes counts the values visited.
type yamlShape struct{ size, json, nodes int }

func yamlSizeOf(v any, limit int) (yamlShape, error) {
	var y yamlShape
	err := y.add(reflect.ValueOf(v), 0, limit)
	return y, err
}

func (y *yamlShape) add(v reflect.Value, depth, limit int) error {
	if y.nodes++; y.size > limit || y.nodes > limit {
		return errTooBig
	}
	indent := 2*depth + 4
	switch v.Kind() {
	case reflect.Invalid, reflect.Bool:
		y.size, y.json = y.size+8, y.json+8
	case reflect.Interface:
		if v.IsNil() {
			y.size, y.json = y.size+8, y.json+8
			return nil
		}
		return y.add(v.Elem(), depth, limit)
	case reflect.String:
		s := v.String()
		folds := strings.Count(s, " ") + 2*strings.Count(s, "\n") + 1
		y.size += 4*len(s) + folds*indent + 8
		y.json += 6*len(s) + 2
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr, reflect.Float32, reflect.Float64:
		y.size, y.json = y.size+40, y.json+40
	case reflect.Slice, reflect.Array:
		y.size, y.json = y.size+4+v.Len()*indent, y.json+2+v.Len()
		for i := range v.Len() {
			if err := y.add(v.Index(i), depth+1, limit); err != nil {
				return err
			}
		}
	case reflect.Map:
		y.size, y.json = y.size+4+v.Len()*(indent+8), y.json+2+2*v.Len()
		for it := v.MapRange(); it.Next(); {
			if err := y.add(it.Key(), depth, limit); err != nil {
				return err
			}
			if err := y.add(it.Value(), depth+1, limit); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot convert a %s to YAML", v.Type())
	}
	return nil
}
