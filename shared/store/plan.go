package store

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/envhub/envhub/shared/auth"
	"github.com/envhub/envhub/shared/model"
)

// plan turns a list request into disjoint index partitions, each with the
// scope condition that keeps the caller to what it may read, and the
// counters whose sum is that partition's total when no filter applies.
func plan(kind string, l List) []part {
	statuses := l.Statuses
	if len(statuses) == 0 {
		statuses = []string{model.StatusActive}
	}
	me := l.Caller.Subject
	shared := kind != model.KindCredential // credentials are never public
	var parts []part
	for _, st := range statuses {
		k := kind + "|" + st
		if l.Parent != "" {
			p := part{index: idxParent, pk: parentPartition(kind, st, l.Parent), scope: readable(l.Caller, shared)}
			if l.ParentChecked {
				p.scope = nil
			}
			parts = append(parts, p)
			continue
		}
		owned := func(o string) {
			own := part{index: idxOwner, pk: k + "|o|" + o, counts: []term{{k + "|o|" + o, 1}}}
			switch l.Visibility {
			case model.Public:
				own.scope, own.counts = eq("visibility", model.Public), []term{{k + "|pub|o|" + o, 1}}
			case model.Private:
				own.scope, own.counts = eq("visibility", model.Private), append(own.counts, term{k + "|pub|o|" + o, -1})
			}
			parts = append(parts, own)
		}
		switch {
		case l.Caller.Admin && len(l.Owners) == 0 && l.Visibility == model.Public:
			parts = append(parts, part{index: idxPublic, pk: k + "|pub", counts: []term{{k + "|pub", 1}}})
		case l.Caller.Admin && len(l.Owners) == 0:
			p := part{index: idxAll, pk: k, counts: []term{{k, 1}}}
			if l.Visibility == model.Private {
				p.scope, p.counts = eq("visibility", model.Private), append(p.counts, term{k + "|pub", -1})
			}
			parts = append(parts, p)
		case l.Caller.Admin:
			for _, o := range dedupe(l.Owners) {
				owned(o)
			}
		case len(l.Owners) == 0:
			owned(me)
			if shared && l.Visibility != model.Private {
				c := expression.Name("owner").NotEqual(expression.Value(me))
				parts = append(parts, part{index: idxPublic, pk: k + "|pub", scope: &c, counts: []term{{k + "|pub", 1}, {k + "|pub|o|" + me, -1}}})
			}
		default:
			for _, o := range dedupe(l.Owners) {
				if o == me {
					owned(me)
				} else if shared && l.Visibility != model.Private {
					parts = append(parts, part{index: idxOwner, pk: k + "|o|" + o, scope: eq("visibility", model.Public), counts: []term{{k + "|pub|o|" + o, 1}}})
				}
			}
		}
	}
	return parts
}

type part struct {
	index, pk string
	scope     *expression.ConditionBuilder
	counts    []term // nil: count by query
}

type term struct {
	counter string
	sign    int
}

func eq(attr, v string) *expression.ConditionBuilder {
	c := expression.Name(attr).Equal(expression.Value(v))
	return &c
}

// readable limits a parent-scoped list to what the caller may see.
func readable(id auth.Identity, shared bool) *expression.ConditionBuilder {
	if id.Admin {
		return nil
	}
	c := expression.Name("owner").Equal(expression.Value(id.Subject))
	if shared {
		c = c.Or(expression.Name("visibility").Equal(expression.Value(model.Public)))
	}
	return &c
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
