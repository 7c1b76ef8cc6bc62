package envcfg

import (
	"encoding/base64"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/view"
)

// Mask is what a Secret's values are shown as; in an update it keeps the
// value stored for its key.
const Mask = view.Mask

// maskSecret masks a Secret's values in place (view.MaskSecret).
func maskSecret(o *unstructured.Unstructured) { o.Object = view.MaskSecret(o.Object, nil) }

// masked tells whether a Secret asks to keep any stored value.
func masked(o *unstructured.Unstructured) bool {
	for _, field := range []string{"data", "stringData"} {
		m, _ := o.Object[field].(map[string]any)
		for _, v := range m {
			if v == Mask {
				return true
			}
		}
	}
	return false
}

// unmask gives every key a Secret asks to keep (its value Mask) the value
// stored for it in old: the Secret as the environment keeps it, or the live
// one a request adopts (nil when there is none). data values are base64,
// stringData values plain; a key may be kept from either. A key old has no
// value for is a 400 naming it. It tells whether it changed anything.
func unmask(o, old *unstructured.Unstructured) (bool, error) {
	var oldData, oldString map[string]any
	if old != nil {
		oldData, _ = old.Object["data"].(map[string]any)
		oldString, _ = old.Object["stringData"].(map[string]any)
	}
	changed := false
	for _, field := range []string{"data", "stringData"} {
		m, _ := o.Object[field].(map[string]any)
		for k, v := range m {
			if v != Mask {
				continue
			}
			value, ok := kept(field, oldData[k], oldString[k])
			if !ok {
				return false, errs.Invalid("yaml_data", "%s.%s is %q, which keeps the stored value, but the Secret has no value for %s", field, k, Mask, k)
			}
			m[k], changed = value, true
		}
	}
	return changed, nil
}

// kept is the value a masked key of field keeps: data wants base64,
// stringData plain text.
func kept(field string, data, plain any) (string, bool) {
	d, hasData := data.(string)
	p, hasPlain := plain.(string)
	switch {
	case field == "data" && hasData:
		return d, true
	case field == "data" && hasPlain:
		return base64.StdEncoding.EncodeToString([]byte(p)), true
	case field == "stringData" && hasPlain:
		return p, true
	case field == "stringData" && hasData:
		raw, err := base64.StdEncoding.DecodeString(d)
		return string(raw), err == nil
	}
	return "", false
}

// toYAML prints an object as YAML.
func toYAML(o *unstructured.Unstructured) (string, error) {
	out, err := yaml.Marshal(o.Object)
	if err != nil {
		return "", fmt.Errorf("print %s %q: %w", o.GetKind(), o.GetName(), err)
	}
	return string(out), nil
}

// shown is a config's YAML as the detail shows it: a Secret's values masked.
func shown(t cfgType, text string, o *unstructured.Unstructured) (string, error) {
	if !t.secret() {
		return text, nil
	}
	o = o.DeepCopy()
	maskSecret(o)
	return toYAML(o)
}

// cleaned is a live object as the detail shows it: without what the server
// owns (managedFields, status, resourceVersion, uid...), a Secret masked.
func cleaned(t cfgType, live *unstructured.Unstructured) (string, error) {
	o := live.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"} {
		unstructured.RemoveNestedField(o.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(o.Object, "status")
	if t.secret() {
		maskSecret(o)
	}
	return toYAML(o)
}
