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
// dependencies allow, so dumps read like the unfused graph.
func applyFusions(g *graph.Graph, fs []fusion) error {
	repl := map[*graph.Value]*graph.Value{}
	for _, f := range fs {
		for i, in := range f.inputs {
			if r, ok := repl[in]; ok {
				f.inputs[i] = r
			}
		}
		pos := len(g.Nodes)
		for i, n := range g.Nodes {
			if n == f.old[0] {
				pos = i
				break
			}
		}
		n, err := g.Add(uniqueName(g, f.name), f.op, f.inputs...)
		if err != nil {
			return err
		}
		if len(n.Outputs) != len(f.replaced) {
			return fmt.Errorf("fused node %s has %d outputs, replaces %d values", n.Name, len(n.Outputs), len(f.replaced))
		}
		// Move n from the end to pos.
		copy(g.Nodes[pos+1:], g.Nodes[pos:len(g.Nodes)-1])
		g.Nodes[pos] = n
		for i, v := range f.replaced {
			g.ReplaceUses(v, n.Outputs[i])
			repl[v] = n.Outputs[i]
		}
		g.Remove(f.old...)
	}
	return g.Sort()
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

// uniqueName returns base, or base.2, base.3 ... if base (or a value named
// after it) is taken, since Verify wants unique node and value names.
func uniqueName(g *graph.Graph, base string) string {
	taken := func(name string) bool {
		if g.NodeNamed(name) != nil {
			return true
		}
		for _, v := range g.Values {
			if v.Name == name || strings.HasPrefix(v.Name, name+":") {
				return true
			}
		}
		return false
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s.%d", base, i)
	}
	return name
}
