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
	"strings"

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
	// Adopt: a request named the object explicitly, so its apply takes over
	// fields other managers own (else that is a conflict).
	Adopt bool `json:"adopt,omitempty"`
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
// apply (those others depend on first), then objects to prune. All is every
// object the environment renders once it is done: its revision.
type Plan struct {
	Items []Item
	All   []Item
	// Superseded are image overrides the render gave way to: the change
	// names new images, and the environment forgets the overrides.
	Superseded []render.Superseded
}

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
	all, err := Flatten(e, out)
	if err != nil {
		return Plan{}, err
	}
	p := Diff(all, applied, touched)
	p.Superseded = out.Superseded
	return p, nil
}

// Flatten lists every object of a render, each with its part, those others
// depend on first; an object rendered twice is a 400 naming both parts.
func Flatten(e *model.Environment, out *render.Output) ([]Item, error) {
	var items []Item
	owner := map[string]string{} // object key -> part rendering it
	var failures []error
	add := func(part string, objs ...*unstructured.Unstructured) {
		for _, o := range objs {
			// Every object lives in the environment's namespace; set here,
			// it is the same in every revision, whoever checks it later.
			if o.GetNamespace() == "" && e.Namespace != "" {
				o.SetNamespace(e.Namespace)
			}
			it := Item{Part: part, Object: o.Object}
			if other, ok := owner[it.Ref().Key()]; ok {
				failures = append(failures, fmt.Errorf("%s %q is rendered twice, by %s and by %s", o.GetKind(), o.GetName(), other, part))
			}
			owner[it.Ref().Key()] = part
			items = append(items, it)
		}
	}
	if out.Registry != nil {
		add(model.PartRegistry, out.Registry)
	}
	add(model.PartConfig, out.Configs...)
	for i, objs := range out.Services {
		add(model.ServicePart(e.Services[i].Name), objs...)
	}
	if len(failures) > 0 {
		return nil, fmt.Errorf("%w: %v", errs.ErrInvalid, errors.Join(failures...))
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		return rank(a) - rank(b)
	})
	return items, nil
}

// Diff plans the parts touched selects of all (every object the
// environment renders, from Flatten or a revision) against applied.
func Diff(all []Item, applied []model.Applied, touched func(part string) bool) Plan {
	had := map[string]model.Applied{}
	for _, a := range applied {
		had[a.Key()] = a
	}
	rendered := map[string]bool{}
	var items []Item
	for _, it := range all {
		it.Recorded = false
		rendered[it.Ref().Key()] = true
		if touched(it.Part) {
			it.Recorded = had[it.Ref().Key()] == it.Ref()
			items = append(items, it)
		}
	}
	for _, a := range applied {
		// Pruned: what a touched part applied and nothing renders now (an
		// object that moved between parts is not).
		if touched(a.Part) && !rendered[a.Key()] {
			items = append(items, Item{Part: a.Part, Prune: &a})
		}
	}
	return Plan{Items: items, All: all}
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

// Seal compresses and encrypts the plan for operation opID (and, apart,
// what the environment renders after it, for its revision) and cuts each
// into chunks of at most ChunkSize; together past maxChunks they are a 400.
func (p Plan) Seal(ctx context.Context, s Sealer, opID string, maxChunks int) (items, all [][]byte, err error) {
	if items, err = sealItems(ctx, s, sealID(opID), p.Items); err != nil {
		return nil, nil, err
	}
	if all, err = sealItems(ctx, s, RevisionSealID(opID), p.All); err != nil {
		return nil, nil, err
	}
	if n := len(items) + len(all); n > maxChunks {
		return nil, nil, errs.Invalid("environment", "renders %d KiB of compressed objects: one operation records at most %d KiB (its plan and the revision it makes)",
			n*ChunkSize>>10, maxChunks*ChunkSize>>10)
	}
	return items, all, nil
}

// RevisionSealID binds a revision's objects to the operation that made it.
func RevisionSealID(opID string) string { return opID + "/revision" }

func sealItems(ctx context.Context, s Sealer, id string, items []Item) ([][]byte, error) {
	raw, err := json.Marshal(items)
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
	sealed, err := s.SealBytes(ctx, id, gz.Bytes())
	if err != nil {
		return nil, fmt.Errorf("seal plan: %w", err)
	}
	var chunks [][]byte
	for len(sealed) > 0 {
		n := min(len(sealed), ChunkSize)
		chunks = append(chunks, sealed[:n])
		sealed = sealed[n:]
	}
	return chunks, nil
}

// Open decrypts and decodes a plan recorded by Seal.
func Open(ctx context.Context, s Sealer, opID string, chunks [][]byte) (Plan, error) {
	items, err := openItems(ctx, s, sealID(opID), opID, chunks)
	return Plan{Items: items}, err
}

// OpenRevision decrypts and decodes the objects of the revision operation opID made.
func OpenRevision(ctx context.Context, s Sealer, opID string, chunks [][]byte) ([]Item, error) {
	return openItems(ctx, s, RevisionSealID(opID), opID, chunks)
}

func openItems(ctx context.Context, s Sealer, id, opID string, chunks [][]byte) ([]Item, error) {
	gz, err := s.OpenBytes(ctx, id, bytes.Join(chunks, nil))
	if err != nil {
		return nil, fmt.Errorf("open plan of %s: %w", opID, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("plan of %s: %w", opID, err)
	}
	raw, err := io.ReadAll(io.LimitReader(r, MaxRaw+1))
	if err != nil {
		return nil, fmt.Errorf("plan of %s: %w", opID, err)
	}
	var items []Item
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("plan of %s: %w", opID, err)
	}
	return items, nil
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

// Split parts the objects items apply into those applied as usual and
// those adopted (Item.Adopt).
func Split(items []Item) (apply, adopt []*unstructured.Unstructured) {
	for _, it := range items {
		switch {
		case it.Object == nil:
		case it.Adopt:
			adopt = append(adopt, &unstructured.Unstructured{Object: it.Object})
		default:
			apply = append(apply, &unstructured.Unstructured{Object: it.Object})
		}
	}
	return apply, adopt
}

// Hosts are the hosts the Ingresses among items route: an environment
// claims them on its cluster.
func Hosts(items []Item) []string {
	seen := map[string]bool{}
	var out []string
	for _, it := range items {
		if it.Object == nil || it.Object["kind"] != "Ingress" {
			continue
		}
		u := unstructured.Unstructured{Object: it.Object}
		rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
		tls, _, _ := unstructured.NestedSlice(u.Object, "spec", "tls")
		var hosts []string
		for _, r := range rules {
			if m, ok := r.(map[string]any); ok {
				h, _ := m["host"].(string)
				hosts = append(hosts, h)
			}
		}
		for _, t := range tls {
			if m, ok := t.(map[string]any); ok {
				hs, _ := m["hosts"].([]any)
				for _, h := range hs {
					s, _ := h.(string)
					hosts = append(hosts, s)
				}
			}
		}
		for _, h := range hosts {
			h = strings.ToLower(h)
			if h != "" && !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	slices.Sort(out)
	return out
}
