package environment

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/envhub/envhub/shared/plan"
	"github.com/envhub/envhub/shared/view"
)

// ObjectRef is one object a revision renders.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Part       string `json:"part"`
}

// ObjectChange is an object a revision added, removed or changed.
type ObjectChange struct {
	ObjectRef
	Change string `json:"change"` // added, removed, changed
}

func refs(items []plan.Item) []ObjectRef {
	out := []ObjectRef{}
	for _, it := range items {
		a := it.Ref()
		out = append(out, ObjectRef{a.APIVersion, a.Kind, a.Name, a.Part})
	}
	return out
}

// compare lists what changed from before to after, object by object, and
// a unified diff of their YAML; Secret values show as view.Mask, with
// "(changed)" where the value changed, never themselves.
func compare(before, after []plan.Item) ([]ObjectChange, string) {
	old, cur := index(before), index(after)
	var keys []string
	for k := range old {
		keys = append(keys, k)
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	changes := []ObjectChange{}
	var diff strings.Builder
	for _, k := range keys {
		a, hadA := old[k]
		b, hasB := cur[k]
		var aText, bText, change string
		var ref plan.Item
		switch {
		case !hadA:
			ref, change, bText = b, "added", text(mask(b.Object, nil))
		case !hasB:
			ref, change, aText = a, "removed", text(mask(a.Object, nil))
		default:
			ref = b
			aText, bText = text(mask(a.Object, nil)), text(mask(b.Object, a.Object))
			if aText == bText {
				continue
			}
			change = "changed"
		}
		r := ref.Ref()
		changes = append(changes, ObjectChange{ObjectRef{r.APIVersion, r.Kind, r.Name, r.Part}, change})
		name := fmt.Sprintf("%s/%s", r.Kind, r.Name)
		u, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(aText), B: difflib.SplitLines(bText),
			FromFile: "a/" + name, ToFile: "b/" + name, Context: 3})
		diff.WriteString(u)
	}
	return changes, diff.String()
}

func index(items []plan.Item) map[string]plan.Item {
	out := map[string]plan.Item{}
	for _, it := range items {
		if it.Object != nil {
			out[it.Ref().Key()] = it
		}
	}
	return out
}

func text(obj map[string]any) string {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Sprintf("# not shown: %v\n", err)
	}
	return string(b)
}

func mask(obj, prev map[string]any) map[string]any { return view.MaskSecret(obj, prev) }
