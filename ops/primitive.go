package ops

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// EmbedOp picks rows of a table by token id: (table[V,D], tokens I32[N]) → F32[N,D].
type EmbedOp struct{}

func (EmbedOp) Name() string  { return "embed" }
func (EmbedOp) Label() string { return "embed" }

func (EmbedOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 2); err != nil {
		return nil, err
	}
	table, tok := in[0], in[1]
	if err := first(wantRank(table, 2, "table"), wantRank(tok, 1, "tokens")); err != nil {
		return nil, err
	}
	if tok.Type != quant.I32 {
		return nil, fmt.Errorf("tokens %s must be I32, is %s", tok.Name, tok.Type)
	}
	return one(quant.F32, graph.Shape{tok.Shape[0], table.Shape[1]}), nil
}

func (EmbedOp) Cost(in, out []*graph.Value) Cost {
	n := int64(in[1].Shape[0])
	return Cost{WeightBytes: n * in[0].Bytes() / int64(in[0].Shape[0]), ReadBytes: n * 4, WriteBytes: f32(out[0])}
}

func (EmbedOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	table, tok := in[0], in[1]
	vocab, dim := table.Shape[0], table.Shape[1]
	out := NewTensor(tok.Shape[0], dim)
	for i, id := range tok.I {
		if id < 0 || int(id) >= vocab {
			return nil, fmt.Errorf("token id %d out of range [0,%d)", id, vocab)
		}
		copy(out.Row(i), table.Row(int(id)))
	}
	return []*Tensor{out}, nil
}

// RMSNormOp normalises each row: (x[N,D], w F32[D]) → [N,D].
type RMSNormOp struct{ Eps float32 }

func (RMSNormOp) Name() string  { return "rmsnorm" }
func (RMSNormOp) Label() string { return "rmsnorm" }

func (RMSNormOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 2); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	if err := first(wantF32(x, "input"), wantF32(w, "weight"), wantRank(x, 2, "input"), wantRank(w, 1, "weight")); err != nil {
		return nil, err
	}
	if w.Shape[0] != x.Shape[1] {
		return nil, fmt.Errorf("weight %s has %d elements, rows of %s have %d", w.Name, w.Shape[0], x.Name, x.Shape[1])
	}
	return one(quant.F32, x.Shape), nil
}

func (RMSNormOp) Cost(in, out []*graph.Value) Cost {
	return Cost{WeightBytes: in[1].Bytes(), ReadBytes: f32(in[0]), WriteBytes: f32(out[0]), Flops: 4 * int64(in[0].Shape.Elements())}
}

func (o RMSNormOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	x, w := in[0], in[1]
	out := NewTensor(x.Shape...)
	for i := range x.Shape[0] {
		row, dst := x.Row(i), out.Row(i)
		var sum float64
		for _, v := range row {
			sum += float64(v) * float64(v)
		}
		scale := float32(1 / math.Sqrt(sum/float64(len(row))+float64(o.Eps)))
		for j, v := range row {
			dst[j] = v * scale * w.F[j]
		}
	}
	return []*Tensor{out}, nil
}

// MatMulOp multiplies by a weight: (W[O,I], x F32[N,I]) → F32[N,O], y = x·Wᵀ.
type MatMulOp struct{ Variant Variant }

func (MatMulOp) Name() string    { return "matmul" }
func (o MatMulOp) Label() string { return label("matmul", o.Variant) }

func (MatMulOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 2); err != nil {
		return nil, err
	}
	return matmulOut(in[0], in[1])
}

func matmulOut(w, x *graph.Value) ([]graph.Out, error) {
	if err := first(wantRank(w, 2, "weight"), wantRank(x, 2, "input"), wantF32(x, "input")); err != nil {
		return nil, err
	}
	if w.Kind != graph.Weight {
		return nil, fmt.Errorf("%s must be a weight, is %s", w.Name, w.Kind)
	}
	if w.Shape[1] != x.Shape[1] {
		return nil, fmt.Errorf("weight %s rows have %d elements, input %s rows have %d", w.Name, w.Shape[1], x.Name, x.Shape[1])
	}
	return one(quant.F32, graph.Shape{x.Shape[0], w.Shape[0]}), nil
}

func matmulCost(v Variant, w, x, y *graph.Value) Cost {
	n := int64(x.Shape[0])
	return Cost{
		WeightBytes: w.Bytes() * v.WeightReads(int(n)),
		ReadBytes:   f32(x),
		WriteBytes:  f32(y),
		Flops:       2 * n * int64(w.Shape[0]) * int64(w.Shape[1]),
	}
}

func (o MatMulOp) Cost(in, out []*graph.Value) Cost {
	return matmulCost(o.Variant, in[0], in[1], out[0])
}

func (MatMulOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	return []*Tensor{matmul(in[0], in[1])}, nil
}

// matmul is the float reference: y[i,o] = Σ_k W[o,k]·x[i,k], summed in float64.
func matmul(w, x *Tensor) *Tensor {
	n, rows := x.Shape[0], w.Shape[0]
	y := NewTensor(n, rows)
	for i := range n {
		xi := x.Row(i)
		for o := range rows {
			var sum float64
			for k, wv := range w.Row(o) {
				sum += float64(wv) * float64(xi[k])
			}
			y.F[i*rows+o] = float32(sum)
		}
	}
	return y
}

// AddOp sums two activations of one shape.
type AddOp struct{}

func (AddOp) Name() string  { return "add" }
func (AddOp) Label() string { return "add" }

func (AddOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 2); err != nil {
		return nil, err
	}
	if err := first(wantF32(in[0], "input"), wantF32(in[1], "input"), wantSame(in[0], in[1])); err != nil {
		return nil, err
	}
	return one(quant.F32, in[0].Shape), nil
}

func (AddOp) Cost(in, out []*graph.Value) Cost {
	return Cost{ReadBytes: 2 * f32(in[0]), WriteBytes: f32(out[0]), Flops: int64(in[0].Shape.Elements())}
}

func (AddOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	out := NewTensor(in[0].Shape...)
	for i := range out.F {
		out.F[i] = in[0].F[i] + in[1].F[i]
	}
	return []*Tensor{out}, nil
}

// SwiGLUOp is silu(gate)·up, elementwise.
type SwiGLUOp struct{}

func (SwiGLUOp) Name() string  { return "swiglu" }
func (SwiGLUOp) Label() string { return "swiglu" }

func (SwiGLUOp) Infer(in []*graph.Value) ([]graph.Out, error) {
	if err := arity(in, 2); err != nil {
		return nil, err
	}
	if err := first(wantF32(in[0], "gate"), wantF32(in[1], "up"), wantSame(in[0], in[1])); err != nil {
		return nil, err
	}
	return one(quant.F32, in[0].Shape), nil
}

func (SwiGLUOp) Cost(in, out []*graph.Value) Cost {
	return Cost{ReadBytes: 2 * f32(in[0]), WriteBytes: f32(out[0]), Flops: 6 * int64(in[0].Shape.Elements())}
}

func (SwiGLUOp) Eval(_ Step, in []*Tensor) ([]*Tensor, error) {
	out := NewTensor(in[0].Shape...)
	for i, g := range in[0].F {
		out.F[i] = Silu(g) * in[1].F[i]
	}
	return []*Tensor{out}, nil
}

// Silu is x·sigmoid(x).
func Silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }
