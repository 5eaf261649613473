// Package ops is the op table: one struct of typed attributes per op
// (embed, rmsnorm, matmul, rope, kv_write, attention, swiglu, add, and the
// fused matmul_add, matmul_qkv, matmul_gate_up and rope_kv_write), each
// with shape and type inference, a cost, a plain float32 reference
// evaluation and, for fused ops, a decomposition into primitive ops.
//
// Models are declared with a Builder, which reads like the model and keeps
// the first error:
//
//	g := graph.New("tiny", n)
//	b := ops.NewBuilder(g)
//	x := b.Embed("embed", g.Weight("token_embd.weight", quant.Q4_0, vocab, dim), g.Input("tokens", quant.I32, n))
//	h := b.RMSNorm("blk.0/attn_norm", x, g.Weight("blk.0.attn_norm.weight", quant.F32, dim), 1e-5)
//	q := b.MatMul("blk.0/attn_q", g.Weight("blk.0.attn_q.weight", quant.Q4_0, dim, dim), h)
//	...
//	if err := b.Err(); err != nil { ... }
//
// The Evaluator runs any graph op by op — slowly, on purpose: it is the
// reference that passes and runtimes are tested against, not a runtime.
package ops
