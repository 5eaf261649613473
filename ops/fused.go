package ops

import (
	"fmt"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// MatMulAddOp is the accumulate variant of matmul: (W[O,I], x[N,I],
// r[N,O]) → r + x·Wᵀ. It folds a residual add into the mat-vec that
// produces its operand; runtimes may write it in place over r.
type MatMulAddOp struct{ Variant Variant }

func (MatMulAddOp) Name() string    { return "matmul_add" }
func (o MatMulAddOp) Label() string { return label("matmul_add", o.Variant) }

func (MatMulAddOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 3); err != nil {
		return nil, err
	}
	out, err := matmulOut(in[0], in[1])
	if err != nil {
		return nil, err
	}
	if err := wantF32(in[2], "residual"); err != nil {
		return nil, err
	}
	if !in[2].Shape.Equal(out[0].Shape) {
		return nil, fmt.Errorf("residual %s is %s, product is %s", in[2].Name, in[2].Shape, out[0].Shape)
	}
	return out, nil
}

func (o MatMulAddOp) Cost(in, out []*graph.Value) Cost {
	c := matmulCost(o.Variant, in[0], in[1], out[0])
	c.ReadBytes += f32(in[2])
	return c
}

func (MatMulAddOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	y := matmul(in[0], in[1])
	for i := range y.F {
		y.F[i] += in[2].F[i]
	}
	return []*Tensor{y}, nil
}

func (o MatMulAddOp) Decompose(g *graph.Graph, n *graph.Node) ([]*graph.Value, error) {
	b := NewBuilder(g)
	y := b.add(n.Name+"/matmul", MatMulOp(o), n.Inputs[0], n.Inputs[1])
	sum := b.add(n.Name+"/add", AddOp{}, n.Inputs[2], y[0])
	return sum, b.Err()
}

// QKVOp computes the Q, K and V projections of one input in one dispatch:
// (Wq, Wk, Wv, x) → q, k, v. The three weights must share a type.
type QKVOp struct{ Variant Variant }

func (QKVOp) Name() string    { return "matmul_qkv" }
func (o QKVOp) Label() string { return label("matmul_qkv", o.Variant) }

func (QKVOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 4); err != nil {
		return nil, err
	}
	x := in[3]
	var outs []graph.Out
	for _, w := range in[:3] {
		if w.Type != in[0].Type {
			return nil, fmt.Errorf("weights differ in type: %s is %s, %s is %s", in[0].Name, in[0].Type, w.Name, w.Type)
		}
		o, err := matmulOut(w, x)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o[0])
	}
	return outs, nil
}

func (o QKVOp) Cost(in, out []*graph.Value) Cost {
	var c Cost
	for i := range 3 {
		c = c.Add(matmulCost(o.Variant, in[i], in[3], out[i]))
	}
	c.ReadBytes -= 2 * f32(in[3]) // the input is read once for all three
	return c
}

func (QKVOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{matmul(in[0], in[3]), matmul(in[1], in[3]), matmul(in[2], in[3])}, nil
}

func (o QKVOp) Decompose(g *graph.Graph, n *graph.Node) ([]*graph.Value, error) {
	b := NewBuilder(g)
	var outs []*graph.Value
	for i, part := range []string{"q", "k", "v"} {
		outs = append(outs, b.add(n.Name+"/"+part, MatMulOp(o), n.Inputs[i], n.Inputs[3])...)
	}
	return outs, b.Err()
}

// GateUpOp is the feed-forward's first half in one dispatch:
// (Wgate, Wup, x) → silu(x·Wgateᵀ) · (x·Wupᵀ).
type GateUpOp struct{ Variant Variant }

func (GateUpOp) Name() string    { return "matmul_gate_up" }
func (o GateUpOp) Label() string { return label("matmul_gate_up", o.Variant) }

func (GateUpOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 3); err != nil {
		return nil, err
	}
	if in[0].Type != in[1].Type {
		return nil, fmt.Errorf("weights differ in type: %s is %s, %s is %s", in[0].Name, in[0].Type, in[1].Name, in[1].Type)
	}
	g, err := matmulOut(in[0], in[2])
	if err != nil {
		return nil, err
	}
	u, err := matmulOut(in[1], in[2])
	if err != nil {
		return nil, err
	}
	if !g[0].Shape.Equal(u[0].Shape) {
		return nil, fmt.Errorf("gate %s and up %s differ in shape", in[0].Name, in[1].Name)
	}
	return g, nil
}

func (o GateUpOp) Cost(in, out []*graph.Value) Cost {
	c := matmulCost(o.Variant, in[0], in[2], out[0]).Add(matmulCost(o.Variant, in[1], in[2], out[0]))
	c.ReadBytes -= f32(in[2])
	c.WriteBytes -= f32(out[0])
	c.Flops += 6 * int64(out[0].Shape.Elements())
	return c
}

func (GateUpOp) Eval(s Step, in []*Tensor) ([]*Tensor, error) {
	return SwiGLUOp{}.Eval(s, []*Tensor{matmul(in[0], in[2]), matmul(in[1], in[2])})
}

func (o GateUpOp) Decompose(g *graph.Graph, n *graph.Node) ([]*graph.Value, error) {
	b := NewBuilder(g)
	gate := b.add(n.Name+"/gate", MatMulOp(o), n.Inputs[0], n.Inputs[2])
	up := b.add(n.Name+"/up", MatMulOp(o), n.Inputs[1], n.Inputs[2])
	return b.add(n.Name+"/swiglu", SwiGLUOp{}, first1(gate), first1(up)), b.Err()
}

// RopeKVWriteOp ropes Q and K and stores K and V in the caches in one
// dispatch: (q, k, v, kcache, vcache) → roped q, kcache', vcache'.
type RopeKVWriteOp struct{ Rope RopeOp }

func (RopeKVWriteOp) Name() string  { return "rope_kv_write" }
func (RopeKVWriteOp) Label() string { return "rope_kv_write" }

func (o RopeKVWriteOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 5); err != nil {
		return nil, err
	}
	q, k := in[0], in[1]
	if err := o.Rope.check(q); err != nil {
		return nil, err
	}
	kvRope := o.Rope
	kvRope.Heads = k.Shape.Last() / max(o.Rope.HeadDim, 1)
	if err := kvRope.check(k); err != nil {
		return nil, err
	}
	caches, err := kvWriteOut(in[3], in[4], k, in[2])
	if err != nil {
		return nil, err
	}
	return append(one(quant.F32, q.Shape), caches...), nil
}

func (o RopeKVWriteOp) Cost(in, out []*graph.Value) Cost {
	c := KVWriteOp{}.Cost([]*graph.Value{in[3], in[4], in[1], in[2]}, out[1:])
	c.ReadBytes += f32(in[0])
	c.WriteBytes += f32(out[0])
	c.Flops += 6 * int64(in[0].Shape.Elements()+in[1].Shape.Elements())
	return c
}

// kvRope is the rope of K: the same rotation over the KV heads.
func (o RopeKVWriteOp) kvRope(k *Tensor) RopeOp {
	r := o.Rope
	r.Heads = k.Shape[1] / r.HeadDim
	return r
}

func (o RopeKVWriteOp) Eval(s Step, in []*Tensor) ([]*Tensor, error) {
	q, k := in[0].Clone(), in[1].Clone()
	o.Rope.apply(s, q)
	o.kvRope(k).apply(s, k)
	if err := kvStore(s, in[3], in[4], k, in[2]); err != nil {
		return nil, err
	}
	return []*Tensor{q, in[3], in[4]}, nil
}

func (o RopeKVWriteOp) Decompose(g *graph.Graph, n *graph.Node) ([]*graph.Value, error) {
	b := NewBuilder(g)
	kRope := o.Rope
	kRope.Heads = n.Inputs[1].Shape.Last() / o.Rope.HeadDim
	q := b.add(n.Name+"/rope_q", o.Rope, n.Inputs[0])
	k := b.add(n.Name+"/rope_k", kRope, n.Inputs[1])
	caches := b.add(n.Name+"/kv_write", KVWriteOp{}, n.Inputs[3], n.Inputs[4], first1(k), n.Inputs[2])
	return append(q, caches...), b.Err()
}

func first1(vs []*graph.Value) *graph.Value {
	if len(vs) == 0 {
		return nil
	}
	return vs[0]
}

// Unfuse replaces every fused node of g by its decomposition, giving the
// primitive graph that the fused one must compute the same as.
func Unfuse(g *graph.Graph) error {
	for _, n := range append([]*graph.Node(nil), g.Nodes...) {
		f, ok := n.Op.(Fused)
		if !ok {
			continue
		}
		outs, err := f.Decompose(g, n)
		if err != nil {
			return fmt.Errorf("unfuse %s: %w", n.Name, err)
		}
		for i, o := range n.Outputs {
			g.ReplaceUses(o, outs[i])
		}
		g.Remove(n)
	}
	return g.Sort()
}
