// Package render turns service templates (multi-document Kubernetes YAML
// written as Go text/template) and their typed variables into the objects an
// environment applies, labelled as envhub's, with every error reported before
// the cluster is touched.
package render

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
)

// Variable types.
const (
	TypeString = "string"
	TypeBool   = "bool"
	TypeEnum   = "enum"
	TypeYAML   = "yaml"
)

// Var defines one template variable and its default value.
type Var = model.Var

// MaxValue bounds each variable value (a template default, an env
// service's setting, a global variable) in bytes; yaml values are bounded
// further by what decoding them costs (MaxValuesDecode, decode.go).
const MaxValue = 64 << 10

var varKey = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// CheckVars validates variable definitions and their defaults; field names
// the list they came from (e.g. "variables").
func CheckVars(field string, vars []Var) error {
	_, err := checkVars(field, vars)
	return err
}

// checkVars is CheckVars, returning the defaults as the template sees them.
func checkVars(field string, vars []Var) (map[string]any, error) {
	values := make(map[string]any, len(vars))
	left := MaxValuesDecode
	seen := map[string]bool{}
	for i, v := range vars {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !varKey.MatchString(v.Key) || len(v.Key) > 64 {
			return nil, errs.Invalid(f+".key", "must be an identifier (letters, digits, _) of at most 64 characters")
		}
		if seen[v.Key] {
			return nil, errs.Invalid(f+".key", "%q is defined twice", v.Key)
		}
		seen[v.Key] = true
		switch v.Type {
		case TypeString, TypeBool, TypeYAML:
			if len(v.Options) > 0 {
				return nil, errs.Invalid(f+".options", "are only for type enum")
			}
		case TypeEnum:
			if len(v.Options) == 0 {
				return nil, errs.Invalid(f+".options", "are required for type enum")
			}
		default:
			return nil, errs.Invalid(f+".type", "must be string, bool, enum or yaml")
		}
		val, err := typed(v, v.Value, &left)
		if err != nil {
			return nil, errs.Invalid(f+".value", "%v", err)
		}
		values[v.Key] = val
	}
	return values, nil
}

// typed checks a raw value against the variable's type and returns what the
// template sees: a string, a bool, or the parsed YAML. left is what decoding
// yaml values may still cost.
func typed(v Var, raw string, left *int) (any, error) {
	if len(raw) > MaxValue {
		return nil, fmt.Errorf("%s: value of %d bytes is more than %d bytes", v.Key, len(raw), MaxValue)
	}
	switch v.Type {
	case TypeBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not true or false", v.Key, raw)
		}
		return b, nil
	case TypeEnum:
		if !slices.Contains(v.Options, raw) {
			return nil, fmt.Errorf("%s: %q is not one of %v", v.Key, raw, v.Options)
		}
	case TypeYAML:
		cost, err := checkYAML(raw)
		if err == nil && cost > *left {
			err = tooComplex(cost, fmt.Sprintf("the %d MiB all yaml variables may take together", MaxValuesDecode>>20))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: yaml %w", v.Key, err)
		}
		*left -= cost
		var out any
		if err := yaml.Unmarshal([]byte(raw), &out); err != nil {
			return nil, fmt.Errorf("%s: not valid YAML: %v", v.Key, err)
		}
		return out, nil
	}
	return raw, nil
}

// Setting is one environment-level value for a service variable.
type Setting = model.Setting

// Value is one variable's raw value by precedence: the template default,
// overridden by the env service's setting (nil when none), overridden by
// the env's global variable of the same key where the setting asks for it.
// ok is false when that global is missing; raw is then the setting's own.
func Value(v Var, setting *Setting, globals map[string]string) (raw string, ok bool) {
	if setting == nil {
		return v.Value, true
	}
	if !setting.UseGlobal {
		return setting.Value, true
	}
	if g, ok := globals[v.Key]; ok {
		return g, true
	}
	return setting.Value, false
}

// Resolve gives every variable its value: the template default, overridden
// by the env service's setting, overridden by the env's global variable of
// the same key where the setting asks for it. Values are checked by type
// and size (MaxValue, MaxValuesDecode).
func Resolve(vars []Var, settings []Setting, globals map[string]string) (map[string]any, error) {
	byKey := map[string]Setting{}
	for _, s := range settings {
		byKey[s.Key] = s
	}
	out := make(map[string]any, len(vars))
	left := MaxValuesDecode
	var failures []error
	for _, v := range vars {
		var setting *Setting
		if s, ok := byKey[v.Key]; ok {
			setting = &s
		}
		raw, ok := Value(v, setting, globals)
		if !ok {
			failures = append(failures, fmt.Errorf("%s: uses global variable %q, which the environment does not define", v.Key, v.Key))
			continue
		}
		val, err := typed(v, raw, &left)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		out[v.Key] = val
	}
	for k := range byKey {
		if !slices.ContainsFunc(vars, func(v Var) bool { return v.Key == k }) {
			failures = append(failures, fmt.Errorf("%s: the service template has no such variable", k))
		}
	}
	return out, joinErrs(failures)
}
