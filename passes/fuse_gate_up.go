package passes

import (
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// FuseGateUp turns swiglu(matmul(Wg, x), matmul(Wu, x)) into one
// matmul_gate_up node: x is read once and the gate and up products never
// leave the kernel. Both matmuls must feed only the swiglu and share a
// weight type.
var FuseGateUp = Pass{
	Name: "fuse_gate_up",
	Doc:  "swiglu of two matmuls of one input → matmul_gate_up",
	Run: func(s *State) error {
		return applyFusions(s.Graph, matchGateUp(s.Graph))
	},
}

func matchGateUp(g *graph.Graph) []fusion {
	uses := g.Uses()
	outputs := graphOutputs(g)
	var fs []fusion
	for _, n := range g.Nodes {
		if _, ok := n.Op.(ops.SwiGLUOp); !ok {
			continue
		}
		gate := soleProducer[ops.MatMulOp](n.Inputs[0], uses, outputs)
		up := soleProducer[ops.MatMulOp](n.Inputs[1], uses, outputs)
		if gate == nil || up == nil || gate.Inputs[1] != up.Inputs[1] {
			continue
		}
		mm := []*graph.Node{gate, up}
		variant, ok := sameVariant(mm)
		if !ok || !sameWeightType(mm) {
			continue
		}
		fs = append(fs, fusion{
			name:     scope(n.Name) + "ffn_gate_up",
			op:       ops.GateUpOp{Variant: variant},
			inputs:   []*graph.Value{gate.Inputs[0], up.Inputs[0], gate.Inputs[1]},
			old:      []*graph.Node{gate, up, n},
			replaced: []*graph.Value{n.Out()},
		})
	}
	return fs
}
