package passes

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/graph"
)

// fusion is one rewrite found by a fusion pass: the old nodes become one
// node applying op to inputs, whose output i replaces the value replaced[i].
// Other outputs of the old nodes must have no reader outside old.
type fusion struct {
	name     string
	op       graph.Op
	inputs   []*graph.Value
	old      []*graph.Node
	replaced []*graph.Value
}

// applyFusions performs the rewrites, which must not share nodes, then
// restores a topological order. A fusion may read what an earlier one
// replaced (one residual add feeds the next), so inputs are mapped through
// the replacements made so far. Each fused node takes the place of the
// first node it replaces, and Sort keeps that order wherever the
// dependencies allow, so dumps read like the unfused graph. The old nodes
// go in one batch at the end: removing them fusion by fusion made a
// 1,000-block model's passes take seconds.
func applyFusions(g *graph.Graph, fs []fusion) error {
	names := takenNames(g)
	repl := map[*graph.Value]*graph.Value{}
	fusedAt := map[*graph.Node]*graph.Node{} // first old node → fused node
	fused := map[*graph.Node]bool{}
	var old []*graph.Node
	for _, f := range fs {
		for i, in := range f.inputs {
			if r, ok := repl[in]; ok {
				f.inputs[i] = r
			}
		}
		n, err := g.Add(names.unique(f.name), f.op, f.inputs...)
		if err != nil {
			return err
		}
		if len(n.Outputs) != len(f.replaced) {
			return fmt.Errorf("fused node %s has %d outputs, replaces %d values", n.Name, len(n.Outputs), len(f.replaced))
		}
		names.add(n, 1)
		for _, o := range f.old {
			names.add(o, -1) // free for later fusions, as if already removed
		}
		fusedAt[f.old[0]], fused[n] = n, true
		for i, v := range f.replaced {
			g.ReplaceUses(v, n.Outputs[i])
			repl[v] = n.Outputs[i]
		}
		old = append(old, f.old...)
	}
	nodes := make([]*graph.Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		if fused[n] {
			continue // placed at its first old node
		}
		if f, ok := fusedAt[n]; ok {
			nodes = append(nodes, f)
		}
		nodes = append(nodes, n)
	}
	g.Nodes = nodes
	g.Remove(old...)
	return g.Sort()
}

// nameCounts counts the nodes and values holding each name a fused node
// cannot take: a node's name, a value's name and every prefix of a value
// name before a ':' (output i > 0 of node N is the value "N:i").
type nameCounts map[string]int

func takenNames(g *graph.Graph) nameCounts {
	c := nameCounts{}
	for _, n := range g.Nodes {
		c[n.Name]++
	}
	for _, v := range g.Values {
		c.value(v.Name, 1)
	}
	return c
}

func (c nameCounts) value(name string, delta int) {
	c[name] += delta
	for i := range len(name) {
		if name[i] == ':' {
			c[name[:i]] += delta
		}
	}
}

// add counts n and its outputs once more (delta 1) or once less (-1).
func (c nameCounts) add(n *graph.Node, delta int) {
	c[n.Name] += delta
	for _, v := range n.Outputs {
		c.value(v.Name, delta)
	}
}

// unique returns base, or base.2, base.3 ... if base (or a value named
// after it) is taken, since Verify wants unique node and value names.
func (c nameCounts) unique(base string) string {
	name := base
	for i := 2; c[name] > 0; i++ {
		name = fmt.Sprintf("%s.%d", base, i)
	}
	return name
}

// soleProducer returns the node producing v when its op is a T, v has
// exactly one use (one input of one node) and v is not a graph output;
// otherwise nil. Such a value can disappear inside a fused node.
func soleProducer[T graph.Op](v *graph.Value, uses map[*graph.Value][]*graph.Node, outputs map[*graph.Value]bool) *graph.Node {
	p := v.Producer
	if p == nil || len(uses[v]) != 1 || outputs[v] {
		return nil
	}
	if _, ok := p.Op.(T); !ok {
		return nil
	}
	return p
}

func graphOutputs(g *graph.Graph) map[*graph.Value]bool {
	out := make(map[*graph.Value]bool, len(g.Outputs))
	for _, v := range g.Outputs {
		out[v] = true
	}
	return out
}

// scope is a node name's prefix up to its last '/' ("blk.3/" of
// "blk.3/attn_q"), so fused nodes are named within the same block.
func scope(name string) string {
	return name[:strings.LastIndex(name, "/")+1]
}
