package cluster_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/envhub/envhub/shared/cluster"
	"github.com/envhub/envhub/shared/errs"
)

// A dry run persists nothing, refuses what a real apply would (in the
// apiserver's words, as a 400) and tells a missing namespace apart.
func TestDryRun(t *testing.T) {
	c, _ := connect(t)
	ns := namespace(t, c)
	obj := func(y string) []byte { return []byte(y) }
	frozen := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata: {a: \"1\"}\n"
	objs, err := cluster.Decode(obj(frozen))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DryRun(ctx(t), ns, objs[0]); err != nil {
		t.Fatalf("dry run of a new object: %v", err)
	}
	if objs[0].GetNamespace() != "" {
		t.Fatal("the dry run changed its object")
	}
	if _, err := c.Get(ctx(t), "v1", "ConfigMap", ns, "frozen"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("a dry run created the object: %v", err)
	}
	if _, err := c.Apply(ctx(t), ns, obj(frozen), nil); err != nil {
		t.Fatal(err)
	}
	changed, _ := cluster.Decode(obj(strings.Replace(frozen, `"1"`, `"2"`, 1)))
	err = c.DryRun(ctx(t), ns, changed[0])
	if !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("dry run of an immutable change: %v", err)
	}
	if got, _ := c.Get(ctx(t), "v1", "ConfigMap", ns, "frozen"); got.Object["data"].(map[string]any)["a"] != "1" {
		t.Fatal("the refused dry run changed the object")
	}
	err = c.DryRun(ctx(t), "envhub-no-such-namespace", objs[0])
	if !errors.Is(err, cluster.ErrNoNamespace) {
		t.Fatalf("dry run into a missing namespace: %v", err)
	}
	// Into another namespace than the one given: refused before the cluster is asked.
	other, _ := cluster.Decode(obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n"))
	if err := c.DryRun(ctx(t), ns, other[0]); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "default") {
		t.Fatalf("dry run into another namespace: %v", err)
	}
}
