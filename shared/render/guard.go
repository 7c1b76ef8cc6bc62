package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// MaxDepth bounds how deeply if, with and range nest in one template, and
// how long a chain of template calls may be, so that executing a template
// cannot recurse far.
const MaxDepth = 100

// guard rewrites every parse tree of t so that running it spends the
// render's budget (budget.go), and refuses what no budget can stop early:
// recursive template calls, and nesting or call chains deep enough to
// strain the stack. After it,
//   - every range pipeline ends in envhubRange (lists and maps only, items counted),
//   - every range body and template body starts with {{envhubStep N}}, N the
//     size of that body, so loops and template calls are paid for up front,
//   - every printing action that calls a function ends in envhubPrint,
//     which sizes what it prints (plainValue: reading a value needs none).
func guard(t *template.Template) error {
	calls := map[string][]string{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		g := &guarder{tree: tt.Tree}
		if err := g.list(tt.Tree.Root, 0); err != nil {
			return fmt.Errorf("template %q: %w", tt.Name(), err)
		}
		g.pay(tt.Tree.Root)
		calls[tt.Name()] = g.calls
	}
	return acyclic(calls)
}

type guarder struct {
	tree  *parse.Tree
	calls []string // templates this one calls
}

func (g *guarder) list(l *parse.ListNode, depth int) error {
	if l == nil {
		return nil
	}
	if depth > MaxDepth {
		return fmt.Errorf("if, with and range nest more than %d deep", MaxDepth)
	}
	for _, n := range l.Nodes {
		var err error
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 && !plainValue(n.Pipe) {
				g.appendCmd(n.Pipe, guardPrint)
			}
		case *parse.TemplateNode:
			g.calls = append(g.calls, n.Name)
		case *parse.IfNode:
			err = g.branch(&n.BranchNode, depth)
		case *parse.WithNode:
			err = g.branch(&n.BranchNode, depth)
		case *parse.RangeNode:
			g.appendCmd(n.Pipe, guardRange)
			if err = g.branch(&n.BranchNode, depth); err == nil {
				g.pay(n.List)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (g *guarder) branch(b *parse.BranchNode, depth int) error {
	if err := g.list(b.List, depth+1); err != nil {
		return err
	}
	return g.list(b.ElseList, depth+1)
}

// plainValue tells a pipeline that only reads a value ({{ .a.b }},
// {{ $v }}, {{ . }}, a constant): no function makes it, so it is no larger
// than the values given or what budgeted functions made before, and it
// needs no sizing (the output itself is bounded by MaxOutput; loops pay
// for their bodies up front). Most actions are such: they print for free.
func plainValue(pipe *parse.PipeNode) bool {
	if len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
		return false
	}
	switch pipe.Cmds[0].Args[0].(type) {
	case *parse.FieldNode, *parse.VariableNode, *parse.DotNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode:
		return true
	}
	return false
}

// appendCmd makes pipe end in a call of fn: `x | fn`.
func (g *guarder) appendCmd(pipe *parse.PipeNode, fn string) {
	ident := parse.NewIdentifier(fn).SetTree(g.tree).SetPos(pipe.Pos)
	pipe.Cmds = append(pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pipe.Pos, Args: []parse.Node{ident}})
}

// pay makes the body l start with {{envhubStep N}}, N its size. It prints
// an empty string, so the output is unchanged.
func (g *guarder) pay(l *parse.ListNode) {
	w := weight(l)
	ident := parse.NewIdentifier(guardStep).SetTree(g.tree).SetPos(l.Pos)
	num := &parse.NumberNode{NodeType: parse.NodeNumber, Pos: l.Pos, IsInt: true, Int64: int64(w), Text: strconv.Itoa(w)}
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: l.Pos, Args: []parse.Node{ident, num}}
	step := &parse.ActionNode{NodeType: parse.NodeAction, Pos: l.Pos, Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: l.Pos, Cmds: []*parse.CommandNode{cmd}}}
	l.Nodes = slices.Insert(l.Nodes, 0, parse.Node(step))
}

// weight is how many nodes running n once may evaluate, not counting range
// bodies and called templates, which pay for themselves.
func weight(n parse.Node) int {
	w := 1
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		for _, c := range n.Nodes {
			w += weight(c)
		}
	case *parse.ActionNode:
		w += weight(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return 0
		}
		w += len(n.Decl)
		for _, c := range n.Cmds {
			w += weight(c)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			w += weight(a)
		}
	case *parse.ChainNode:
		w += weight(n.Node) + len(n.Field)
	case *parse.IfNode:
		w += weight(n.Pipe) + weight(n.List) + weight(n.ElseList)
	case *parse.WithNode:
		w += weight(n.Pipe) + weight(n.List) + weight(n.ElseList)
	case *parse.RangeNode:
		w += weight(n.Pipe) + weight(n.ElseList)
	case *parse.TemplateNode:
		w += weight(n.Pipe)
	}
	return w
}

// acyclic refuses recursion among templates (with it, a few calls can
// expand into unbounded work, or text/template's 100,000-deep stack) and
// call chains deeper than MaxDepth.
func acyclic(calls map[string][]string) error {
	const open = -1
	height := map[string]int{} // of each template's deepest call chain; open while visited
	var path []string
	var visit func(name string) (int, error)
	visit = func(name string) (int, error) {
		switch h, seen := height[name]; {
		case h == open && seen:
			cycle := append(path[slices.Index(path, name):], name)
			return 0, fmt.Errorf("templates call themselves: %s", strings.Join(cycle, " -> "))
		case seen:
			return h, nil
		}
		height[name] = open
		path = append(path, name)
		h := 1
		for _, c := range calls[name] {
			if _, ok := calls[c]; ok {
				ch, err := visit(c)
				if err != nil {
					return 0, err
				}
				h = max(h, ch+1)
			}
		}
		if h > MaxDepth {
			return 0, fmt.Errorf("templates call each other more than %d deep, from %q", MaxDepth, name)
		}
		path = path[:len(path)-1]
		height[name] = h
		return h, nil
	}
	names := make([]string, 0, len(calls))
	for name := range calls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := visit(name); err != nil {
			return err
		}
	}
	return nil
}
