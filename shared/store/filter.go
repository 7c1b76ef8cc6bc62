package store

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Filter narrows a list beyond the caller's scope. It is applied as a
// DynamoDB filter expression on index queries and in memory on reads by id,
// with the same meaning in both.
type Filter struct {
	Equals map[string]string // attribute equals value, e.g. runtime
	Search string            // an id exactly, or a case-insensitive substring of the name
	Labels []LabelSel        // any of (on label items)
}

// LabelSel selects labels: every field set must match (its id, label_key,
// label_value); one with no field set selects every label.
type LabelSel struct{ ID, Key, Value string }

func (l LabelSel) cond() expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	for _, f := range [...]struct{ attr, v string }{{"id", l.ID}, {"label_key", l.Key}, {"label_value", l.Value}} {
		if f.v != "" {
			conds = append(conds, expression.Name(f.attr).Equal(expression.Value(f.v)))
		}
	}
	switch len(conds) {
	case 0:
		return expression.Name("id").AttributeExists()
	case 1:
		return conds[0]
	}
	return expression.And(conds[0], conds[1], conds[2:]...)
}

func (l LabelSel) match(it map[string]types.AttributeValue) bool {
	return (l.ID == "" || str(it, "id") == l.ID) &&
		(l.Key == "" || str(it, "label_key") == l.Key) &&
		(l.Value == "" || str(it, "label_value") == l.Value)
}

func (f Filter) empty() bool { return len(f.Equals) == 0 && f.Search == "" && len(f.Labels) == 0 }

func (f Filter) and(scope *expression.ConditionBuilder) *expression.ConditionBuilder {
	var conds []expression.ConditionBuilder
	if scope != nil {
		conds = append(conds, *scope)
	}
	for attr, v := range f.Equals {
		conds = append(conds, expression.Name(attr).Equal(expression.Value(v)))
	}
	if f.Search != "" {
		conds = append(conds, expression.Name("id").Equal(expression.Value(f.Search)).
			Or(expression.Name(attrNameLC).Contains(strings.ToLower(f.Search))))
	}
	if len(f.Labels) > 0 {
		var any expression.ConditionBuilder
		for i, l := range f.Labels {
			c := l.cond()
			if i == 0 {
				any = c
			} else {
				any = any.Or(c)
			}
		}
		conds = append(conds, any)
	}
	switch len(conds) {
	case 0:
		return nil
	case 1:
		return &conds[0]
	}
	c := expression.And(conds[0], conds[1], conds[2:]...)
	return &c
}

func (f Filter) match(it map[string]types.AttributeValue) bool {
	for attr, v := range f.Equals {
		if str(it, attr) != v {
			return false
		}
	}
	if f.Search != "" && str(it, "id") != f.Search && !strings.Contains(str(it, attrNameLC), strings.ToLower(f.Search)) {
		return false
	}
	if len(f.Labels) == 0 {
		return true
	}
	for _, l := range f.Labels {
		if l.match(it) {
			return true
		}
	}
	return false
}
