package passes

import (
	"fmt"
	"strings"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// FuseQKV turns the three mat-vecs that read one input — the Q, K and V
// projections — into one matmul_qkv node, so the input is read once and one
// dispatch replaces three. Outputs keep the readers' node order (q, k, v).
// Weights of different types (Q4_K_M files mix them) stay unfused: one
// kernel walks one block format.
var FuseQKV = Pass{
	Name: "fuse_qkv",
	Doc:  "three matmuls of one input with one weight type → matmul_qkv",
	Run: func(s *State) error {
		return applyFusions(s.Graph, matchQKV(s.Graph))
	},
}

func matchQKV(g *graph.Graph) []fusion {
	readers := map[*graph.Value][]*graph.Node{}
	var inputs []*graph.Value // in first-reader order, for a stable rewrite order
	for _, n := range g.Nodes {
		if _, ok := n.Op.(ops.MatMulOp); !ok {
			continue
		}
		x := n.Inputs[1]
		if readers[x] == nil {
			inputs = append(inputs, x)
		}
		readers[x] = append(readers[x], n)
	}
	var fs []fusion
	for _, x := range inputs {
		mm := readers[x]
		// Exactly three: with more, which three are Q, K and V is a guess.
		if len(mm) != 3 || !sameWeightType(mm) {
			continue
		}
		variant, ok := sameVariant(mm)
		if !ok {
			continue
		}
		fs = append(fs, fusion{
			name:     scope(mm[0].Name) + "attn_qkv",
			op:       ops.QKVOp{Variant: variant},
			inputs:   []*graph.Value{mm[0].Inputs[0], mm[1].Inputs[0], mm[2].Inputs[0], x},
			old:      mm,
			replaced: []*graph.Value{mm[0].Out(), mm[1].Out(), mm[2].Out()},
		})
	}
	return fs
}

// sameWeightType reports whether the matmul nodes' weights share a type.
func sameWeightType(mm []*graph.Node) bool {
	for _, n := range mm[1:] {
		if n.Inputs[0].Type != mm[0].Inputs[0].Type {
			return false
		}
	}
	return true
}

// sameVariant returns the matmuls' common variant; fusing matmuls whose
// variants disagree would silently pick one.
func sameVariant(mm []*graph.Node) (ops.Variant, bool) {
	v := mm[0].Op.(ops.MatMulOp).Variant
	for _, n := range mm[1:] {
		if n.Op.(ops.MatMulOp).Variant != v {
			return 0, false
		}
	}
	return v, true
}

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
