package passes

import (
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
