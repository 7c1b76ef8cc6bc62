package plan

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/model"
	"github.com/envhub/envhub/shared/render"
)

// Item is one step of a plan: an object to apply, or one to prune.
type Item struct {
	Part   string         `json:"part"`
	Object map[string]any `json:"object,omitempty"`
	Prune  *model.Applied `json:"prune,omitempty"`
	// Recorded: the applied set holds the object as it is (a re-apply), so
	// the write-ahead record has nothing to add.
	Recorded bool `json:"recorded,omitempty"`
}

// Ref is the applied-set entry of an item.
func (i Item) Ref() model.Applied {
	if i.Prune != nil {
		return *i.Prune
	}
	u := unstructured.Unstructured{Object: i.Object}
	return model.Applied{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Name: u.GetName(), Part: i.Part}
}

// Plan is what one operation does to the cluster, in order: objects to
// apply (those others depend on first), then objects to prune.
type Plan struct{ Items []Item }

// Stats counts what the plan applies and prunes.
func (p Plan) Stats() model.PlanStats {
	var s model.PlanStats
	for _, it := range p.Items {
		if it.Prune != nil {
			s.Prune++
		} else {
			s.Apply++
		}
	}
	return s
}

// first are the kinds other objects depend on; they are applied first.
var first = map[string]bool{"ServiceAccount": true, "ConfigMap": true, "Secret": true, "PersistentVolumeClaim": true, "Role": true, "RoleBinding": true}

// Build plans the parts of e that touched selects: every object they render
// now (out, from Renderer.Render) is applied, and every object of theirs in
// applied (the environment's applied set) that they no longer render is pruned.
// An object rendered twice (say, an env config and a service both a
// ConfigMap "settings") is a 400 naming both: one would undo or prune the other.
func Build(e *model.Environment, out *render.Output, applied []model.Applied, touched func(part string) bool) (Plan, error) {
	var items []Item
	owner := map[string]string{} // object key -> part rendering it
	var failures []error
	add := func(part string, objs ...*unstructured.Unstructured) {
		for _, o := range objs {
			it := Item{Part: part, Object: o.Object}
			if other, ok := owner[it.Ref().Key()]; ok {
				failures = append(failures, fmt.Errorf("%s %q is rendered twice, by %s and by %s", o.GetKind(), o.GetName(), other, part))
			}
			owner[it.Ref().Key()] = part
			if touched(part) {
				items = append(items, it)
			}
		}
	}
	if out.Registry != nil {
		add(model.PartRegistry, out.Registry)
	}
	add(model.PartConfig, out.Configs...)
	for i, objs := range out.Services {
		add(model.ServicePart(e.Services[i].Name), objs...)
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		return rank(a) - rank(b)
	})
	had := map[string]model.Applied{}
	for _, a := range applied {
		had[a.Key()] = a
	}
	for i, it := range items {
		items[i].Recorded = had[it.Ref().Key()] == it.Ref()
	}
	keep := map[string]bool{}
	for _, it := range items {
		keep[it.Ref().Key()] = true
	}
	if len(failures) > 0 {
		return Plan{}, fmt.Errorf("%w: %v", errs.ErrInvalid, errors.Join(failures...))
	}
	for _, a := range applied {
		// Pruned: what a touched part applied and renders no more, unless
		// another part renders it now (it moved between parts).
		if touched(a.Part) && !keep[a.Key()] && owner[a.Key()] == "" {
			items = append(items, Item{Part: a.Part, Prune: &a})
		}
	}
	return Plan{Items: items}, nil
}

func rank(it Item) int {
	if first[fmt.Sprint(it.Object["kind"])] {
		return 0
	}
	return 1
}

// Sizes of a recorded plan: sealed and cut into chunks of ChunkSize, each
// an item of its own, at most store.MaxPlanChunks of them; MaxRaw bounds
// what one operation renders before compression.
const (
	ChunkSize = 300 << 10
	MaxRaw    = 64 << 20
)

func sealID(opID string) string { return opID + "/plan" }

// Sealer encrypts plans at rest: they may hold Secrets.
type Sealer interface {
	SealBytes(ctx context.Context, id string, plain []byte) ([]byte, error)
	OpenBytes(ctx context.Context, id string, sealed []byte) ([]byte, error)
}

// Seal compresses and encrypts the plan for operation opID and cuts it
// into chunks of at most ChunkSize; a plan past maxChunks is a 400.
func (p Plan) Seal(ctx context.Context, s Sealer, opID string, maxChunks int) ([][]byte, error) {
	raw, err := json.Marshal(p.Items)
	if err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	if len(raw) > MaxRaw {
		return nil, errs.Invalid("environment", "renders %d MiB of objects: one operation applies at most %d MiB", len(raw)>>20, MaxRaw>>20)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	_, _ = w.Write(raw)
	if err := w.Close(); err != nil {
		return nil, err
	}
	sealed, err := s.SealBytes(ctx, sealID(opID), gz.Bytes())
	if err != nil {
		return nil, fmt.Errorf("seal plan: %w", err)
	}
	var chunks [][]byte
	for len(sealed) > 0 {
		n := min(len(sealed), ChunkSize)
		chunks = append(chunks, sealed[:n])
		sealed = sealed[n:]
	}
	if len(chunks) > maxChunks {
		return nil, errs.Invalid("environment", "renders %d KiB of compressed objects: one operation applies at most %d KiB", len(gz.Bytes())>>10, maxChunks*ChunkSize>>10)
	}
	return chunks, nil
}

// Open decrypts and decodes a plan recorded by Seal.
func Open(ctx context.Context, s Sealer, opID string, chunks [][]byte) (Plan, error) {
	gz, err := s.OpenBytes(ctx, sealID(opID), bytes.Join(chunks, nil))
	if err != nil {
		return Plan{}, fmt.Errorf("open plan of %s: %w", opID, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return Plan{}, fmt.Errorf("plan of %s: %w", opID, err)
	}
	raw, err := io.ReadAll(io.LimitReader(r, MaxRaw+1))
	if err != nil {
		return Plan{}, fmt.Errorf("plan of %s: %w", opID, err)
	}
	var p Plan
	if err := json.Unmarshal(raw, &p.Items); err != nil {
		return Plan{}, fmt.Errorf("plan of %s: %w", opID, err)
	}
	return p, nil
}

// Objects are the objects items apply.
func Objects(items []Item) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, it := range items {
		if it.Object != nil {
			out = append(out, &unstructured.Unstructured{Object: it.Object})
		}
	}
	return out
}
