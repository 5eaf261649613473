package graph

import (
	"errors"
	"fmt"
)

// Verify is the one invariant checker. It checks that every node's inputs
// belong to the graph, that the op accepts them (arity, types, shapes) and
// infers exactly the node's outputs, that values are produced where their
// kind says and named uniquely, that weight rows are whole quant blocks,
// and that the graph has no cycle. It returns every problem found.
func Verify(g *Graph) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	inGraph := make(map[*Value]bool, len(g.Values))
	names := make(map[string]bool, len(g.Values))
	for _, v := range g.Values {
		inGraph[v] = true
		if names[v.Name] {
			bad("value %q is declared twice", v.Name)
		}
		names[v.Name] = true
		checkValue(v, bad)
	}
	nodeNames := make(map[string]bool, len(g.Nodes))
	nodes := make(map[*Node]bool, len(g.Nodes))
	for _, n := range g.Nodes {
		nodes[n] = true
		if nodeNames[n.Name] {
			bad("node %q appears twice", n.Name)
		}
		nodeNames[n.Name] = true
		checkNode(n, inGraph, bad)
	}
	for _, v := range g.Values {
		if v.Producer != nil && !nodes[v.Producer] {
			bad("value %s: its producer %s is not in the graph", v.Name, v.Producer.Name)
		}
	}
	if len(g.Outputs) == 0 {
		bad("graph has no outputs")
	}
	for _, o := range g.Outputs {
		if !inGraph[o] {
			bad("output %s is not a value of the graph", o.Name)
		}
	}
	if _, err := g.Topo(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("graph %s does not verify: %w", g.Name, errors.Join(errs...))
	}
	return nil
}

func checkValue(v *Value, bad func(string, ...any)) {
	for _, d := range v.Shape {
		if d <= 0 {
			bad("value %s: shape %s has a non-positive dimension", v.Name, v.Shape)
			return
		}
	}
	switch v.Kind {
	case Activation:
		if v.Producer == nil {
			bad("activation %s has no producer", v.Name)
		}
	default:
		if v.Producer != nil {
			bad("%s value %s must not have a producer", v.Kind, v.Name)
		}
	}
	if v.Kind == Weight {
		if !v.Type.Known() {
			bad("weight %s: unknown type %s", v.Name, v.Type)
		} else if len(v.Shape) == 0 || v.Shape.Last()%v.Type.BlockSize() != 0 {
			bad("weight %s: row length %d is not a multiple of the %s block size %d",
				v.Name, v.Shape.Last(), v.Type, v.Type.BlockSize())
		}
	}
}

func checkNode(n *Node, inGraph map[*Value]bool, bad func(string, ...any)) {
	if n.Op == nil {
		bad("node %s has no op", n.Name)
		return
	}
	for i, in := range n.Inputs {
		if in == nil || !inGraph[in] {
			bad("node %s: input %d is not a value of the graph", n, i)
			return
		}
	}
	outs, err := n.Op.Infer(n.Inputs)
	if err != nil {
		bad("node %s: %v", n, err)
		return
	}
	if len(outs) != len(n.Outputs) {
		bad("node %s: op infers %d outputs, node has %d", n, len(outs), len(n.Outputs))
		return
	}
	for i, o := range n.Outputs {
		if !inGraph[o] {
			bad("node %s: output %d is not a value of the graph", n, i)
			continue
		}
		if o.Producer != n || o.Index != i {
			bad("node %s: output %d (%s) names another producer", n, i, o.Name)
		}
		if o.Type != outs[i].Type || !o.Shape.Equal(outs[i].Shape) {
			bad("node %s: output %d is %s%s, op infers %s%s", n, i, o.Type, o.Shape, outs[i].Type, outs[i].Shape)
		}
	}
}
