package render

import (
	"fmt"
	"reflect"
	"text/template"
	"text/template/parse"
)

// MaxIterations bounds how many times one service's ranges may loop in all.
// Output is bounded by MaxOutput, but a loop that prints nothing (or ranges
// over a number computed at run time) would otherwise burn CPU unbounded.
const MaxIterations = 10_000

const guardFunc = "envhubRange"

// rangeGuard is the function every range's pipeline ends in: it lets lists
// and maps through and counts their items against MaxIterations.
func rangeGuard() template.FuncMap {
	left := MaxIterations
	return template.FuncMap{guardFunc: func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			if left -= rv.Len(); left < 0 {
				return nil, fmt.Errorf("ranges loop more than %d times in all", MaxIterations)
			}
			return v, nil
		}
		return nil, fmt.Errorf("range over %T is not allowed: range over lists and maps", v)
	}}
}

// guardRanges appends the guard to the pipeline of every range under n:
// `range $i, $x := .list` runs as `range $i, $x := .list | envhubRange`.
func guardRanges(t *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			guardRanges(t, c)
		}
	case *parse.RangeNode:
		ident := parse.NewIdentifier(guardFunc).SetTree(t).SetPos(n.Pipe.Pos)
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pipe.Pos, Args: []parse.Node{ident}})
		guardRanges(t, n.List)
		guardRanges(t, n.ElseList)
	case *parse.IfNode:
		guardRanges(t, n.List)
		guardRanges(t, n.ElseList)
	case *parse.WithNode:
		guardRanges(t, n.List)
		guardRanges(t, n.ElseList)
	}
}
