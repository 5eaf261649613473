package passes

import (
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
)

// FuseRopeKV applies RoPE where K and V are written into the cache: the
// pattern
//
//	rq = rope(q); rk = rope(k); kc', vc' = kv_write(kc, vc, rk, v)
//	attention(rq, kc', vc')
//
// becomes rq, kc', vc' = rope_kv_write(q, k, v, kc, vc), which the
// attention then reads. Each rope output must have that one reader, and
// the two ropes must agree on everything but the head count.
var FuseRopeKV = Pass{
	Name: "fuse_rope_kv",
	Doc:  "rope(q), rope(k) and kv_write feeding one attention → rope_kv_write",
	Run: func(s *State) error {
		return applyFusions(s.Graph, matchRopeKV(s.Graph))
	},
}

func matchRopeKV(g *graph.Graph) []fusion {
	uses := g.Uses()
	outputs := graphOutputs(g)
	taken := map[*graph.Node]bool{} // a cache write read by two attentions fuses once
	var fs []fusion
	for _, n := range g.Nodes {
		if _, ok := n.Op.(ops.AttentionOp); !ok {
			continue
		}
		rq := soleProducer[ops.RopeOp](n.Inputs[0], uses, outputs)
		kw := n.Inputs[1].Producer
		if rq == nil || kw == nil || taken[kw] {
			continue
		}
		if _, ok := kw.Op.(ops.KVWriteOp); !ok || n.Inputs[1] != kw.Outputs[0] || n.Inputs[2] != kw.Outputs[1] {
			continue
		}
		rk := soleProducer[ops.RopeOp](kw.Inputs[2], uses, outputs)
		if rk == nil || !sameRotation(rq.Op.(ops.RopeOp), rk.Op.(ops.RopeOp)) {
			continue
		}
		taken[kw] = true
		fs = append(fs, fusion{
			name:     scope(kw.Name) + "rope_kv_write",
			op:       ops.RopeKVWriteOp{Rope: rq.Op.(ops.RopeOp)},
			inputs:   []*graph.Value{rq.Inputs[0], rk.Inputs[0], kw.Inputs[3], kw.Inputs[0], kw.Inputs[1]},
			old:      []*graph.Node{rq, rk, kw},
			replaced: []*graph.Value{rq.Out(), kw.Outputs[0], kw.Outputs[1]},
		})
	}
	return fs
}

// sameRotation reports whether the K rope is the Q rope over K's heads,
// which is all rope_kv_write can express.
func sameRotation(q, k ops.RopeOp) bool {
	k.Heads = q.Heads
	return q == k
}
