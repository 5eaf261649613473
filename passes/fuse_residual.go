package passes

import (
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// FuseResidual folds a residual add into the mat-vec that produces its
// operand: add(r, matmul(W, x)), in either operand order, becomes
// matmul_add(W, x, r) = r + x·Wᵀ (the accumulate variant), so the product
// is never written out and read back. The matmul's output must have no
// other reader.
var FuseResidual = Pass{
	Name: "fuse_residual",
	Doc:  "add(r, matmul(W, x)) → matmul_add(W, x, r)",
	Run: func(s *State) error {
		return applyFusions(s.Graph, matchResidual(s.Graph))
	},
}

func matchResidual(g *graph.Graph) []fusion {
	uses := g.Uses()
	outputs := graphOutputs(g)
	var fs []fusion
	for _, n := range g.Nodes {
		if _, ok := n.Op.(ops.AddOp); !ok {
			continue
		}
		// The builder writes add(residual, product), so try the second
		// operand first; floating-point addition commutes exactly.
		for _, i := range []int{1, 0} {
			mm := soleProducer[ops.MatMulOp](n.Inputs[i], uses, outputs)
			if mm == nil {
				continue
			}
			fs = append(fs, fusion{
				name:     mm.Name + "+residual",
				op:       ops.MatMulAddOp{Variant: mm.Op.(ops.MatMulOp).Variant},
				inputs:   []*graph.Value{mm.Inputs[0], mm.Inputs[1], n.Inputs[1-i]},
				old:      []*graph.Node{mm, n},
				replaced: []*graph.Value{n.Out()},
			})
			break
		}
	}
	return fs
}
