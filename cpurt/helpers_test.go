package cpurt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// planBuilder assembles one-dispatch plans for kernel tests: weights are
// appended to a weights buffer, activations reserved in the arena, caches
// in the KV buffer.
type planBuilder struct {
	weights   []byte
	arena, kv int64
	n         int
}

func align(x, a int64) int64 { return (x + a - 1) / a * a }

func (b *planBuilder) weight(name string, data []byte) plan.Binding {
	off := align(int64(len(b.weights)), 32)
	b.weights = append(b.weights, make([]byte, int(off)-len(b.weights))...)
	b.weights = append(b.weights, data...)
	return plan.Binding{Buffer: plan.Weights, Offset: off, Length: int64(len(data)), Value: name}
}

func (b *planBuilder) act(name string, floats int) plan.Binding {
	off := align(b.arena, 64)
	b.arena = off + 4*int64(floats)
	return plan.Binding{Buffer: plan.Arena, Offset: off, Length: 4 * int64(floats), Value: name}
}

func (b *planBuilder) cache(name string, t quant.Type, elems int) plan.Binding {
	off := align(b.kv, 64)
	size := int64(elems) * int64(t.BlockBytes())
	b.kv = off + size
	return plan.Binding{Buffer: plan.KV, Offset: off, Length: size, Value: name}
}

func stepBinding() plan.Binding {
	return plan.Binding{Buffer: plan.Step, Length: 16, Value: "step"}
}

func (b *planBuilder) tokens() plan.Binding {
	return plan.Binding{Buffer: plan.Tokens, Length: 4 * int64(b.n), Value: "tokens"}
}

// plan wraps one dispatch of kernel in a plan; write flags come from the
// contract's roles.
func (b *planBuilder) plan(t testing.TB, kernel string, params plan.Params, bindings ...plan.Binding) *plan.Plan {
	t.Helper()
	c, err := plan.Lookup(kernel)
	require.NoError(t, err)
	require.Len(t, bindings, len(c.Roles))
	for i := range bindings {
		bindings[i].Write = c.Roles[i].Write
	}
	p := &plan.Plan{Name: kernel, N: b.n}
	sizes := [6]int64{16, 4 * int64(b.n), int64(len(b.weights)), b.kv, b.arena, 0}
	for k := range p.Buffers {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: sizes[k]}
	}
	p.Commands = []plan.CommandBuffer{{Dispatches: []plan.Dispatch{{
		Kernel: kernel, Node: "test/" + kernel, Bindings: bindings, Params: params, Barrier: true,
	}}}}
	return p
}

// compile builds a runtime over b's weights (three workers, more than
// this machine's cores, so that chunks interleave) and compiles pl.
func (b *planBuilder) compile(t testing.TB, pl *plan.Plan) *Program {
	t.Helper()
	rt, err := New(b.weights, Options{Threads: 3})
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	prog, err := rt.Compile(pl)
	require.NoError(t, err)
	return prog
}

// floats views a binding of a compiled program as float32s.
func floats(t testing.TB, p *Program, b plan.Binding) []float32 {
	t.Helper()
	v, err := viewOf[float32](p.bufs[b.Buffer][b.Offset:b.End()])
	require.NoError(t, err)
	return v
}

func halves(t testing.TB, p *Program, b plan.Binding) []uint16 {
	t.Helper()
	v, err := viewOf[uint16](p.bufs[b.Buffer][b.Offset:b.End()])
	require.NoError(t, err)
	return v
}

func randn(r *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * scale)
	}
	return out
}

// quantized encodes rows×cols values as type t and returns the bytes and
// the dequantised tensor the reference uses.
func quantized(t testing.TB, typ quant.Type, rows, cols int, vals []float32) ([]byte, *ops.Tensor) {
	t.Helper()
	rb, err := quant.RowBytes(typ, int64(cols))
	require.NoError(t, err)
	data := make([]byte, int64(rows)*rb)
	deq := ops.NewTensor(rows, cols)
	for r := range rows {
		row := data[int64(r)*rb : int64(r+1)*rb]
		require.NoError(t, quant.QuantizeRow(typ, vals[r*cols:(r+1)*cols], row))
		require.NoError(t, quant.DequantizeRow(typ, row, deq.Row(r)))
	}
	return data, deq
}

func tensor(vals []float32, shape ...int) *ops.Tensor {
	t := ops.NewTensor(shape...)
	copy(t.F, vals)
	return t
}

// relErr is max|got − want| / max|want|: the error relative to the
// output's scale, which is what the tolerances bound.
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}
