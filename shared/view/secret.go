package view

import "fmt"

// Mask is what a Secret's values are shown as, on every route.
const Mask = "******"

// LastApplied is kubectl's copy of what it applied: for a Secret, its values in clear.
const LastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// MaskSecret returns obj with a Secret's values masked: every value under
// data and stringData (or the field itself, if not a map) shows as Mask,
// and kubectl's copy of them is dropped. prev, the same Secret as it was
// before (or nil), marks the values that changed since "****** (changed)".
// Other objects are returned as they are; obj is not changed.
func MaskSecret(obj, prev map[string]any) map[string]any {
	if obj["kind"] != "Secret" {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	for _, field := range []string{"data", "stringData"} {
		values, ok := obj[field].(map[string]any)
		if !ok {
			if obj[field] != nil {
				out[field] = Mask
			}
			continue
		}
		was, _ := prev[field].(map[string]any)
		m := make(map[string]any, len(values))
		for k, v := range values {
			m[k] = Mask
			if old, ok := was[k]; prev != nil && (!ok || fmt.Sprint(old) != fmt.Sprint(v)) {
				m[k] = Mask + " (changed)"
			}
		}
		out[field] = m
	}
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok && ann[LastApplied] != nil {
			m := make(map[string]any, len(meta))
			for k, v := range meta {
				m[k] = v
			}
			a := make(map[string]any, len(ann))
			for k, v := range ann {
				if k != LastApplied {
					a[k] = v
				}
			}
			m["annotations"] = a
			out["metadata"] = m
		}
	}
	return out
}
