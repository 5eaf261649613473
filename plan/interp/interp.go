package interp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Interpreter runs a plan's dispatches in order over its own copies of the
// plan buffers; the weights buffer is the bytes given to New.
type Interpreter struct {
	p    *plan.Plan
	bufs [len(plan.Plan{}.Buffers)][]byte
	// deq caches dequantised weight bindings: weights never change.
	deq map[weightKey]*ops.Tensor
}

type weightKey struct {
	off, length int64
	typ         quant.Type
	rows, cols  int
}

// New checks p (plan.Verify, and a kernel for every contract it names) and
// allocates its buffers with a zeroed KV cache. weights must be exactly the
// plan's weights buffer (the model file).
func New(p *plan.Plan, weights []byte) (*Interpreter, error) {
	if err := check(p); err != nil {
		return nil, err
	}
	if got, want := int64(len(weights)), p.Buffers[plan.Weights].Size; got != want {
		return nil, fmt.Errorf("interp: weights are %d bytes, plan %s's weights buffer is %d", got, p.Name, want)
	}
	it := &Interpreter{deq: map[weightKey]*ops.Tensor{}}
	it.bufs[plan.Weights] = weights
	it.bufs[plan.KV] = make([]byte, p.Buffers[plan.KV].Size)
	it.use(p)
	return it, nil
}

// SetPlan switches to another plan over the same weights and KV layout
// (the plan of another step size), keeping the KV cache, so that a
// prefill plan and a decode plan continue one sequence.
func (it *Interpreter) SetPlan(p *plan.Plan) error {
	if err := check(p); err != nil {
		return err
	}
	switch {
	case p.Buffers[plan.Weights].Size != int64(len(it.bufs[plan.Weights])):
		return fmt.Errorf("interp: plan %s's weights buffer is %d bytes, the interpreter holds %d", p.Name, p.Buffers[plan.Weights].Size, len(it.bufs[plan.Weights]))
	case p.Buffers[plan.KV].Size != int64(len(it.bufs[plan.KV])) || !slices.Equal(p.KV, it.p.KV):
		return fmt.Errorf("interp: plan %s lays out the KV cache differently from plan %s", p.Name, it.p.Name)
	}
	it.use(p)
	return nil
}

// use allocates the per-step buffers of p.
func (it *Interpreter) use(p *plan.Plan) {
	it.p = p
	for _, k := range []plan.BufferKind{plan.Step, plan.Tokens, plan.Arena, plan.Logits} {
		it.bufs[k] = make([]byte, p.Buffers[k].Size)
	}
}

// check verifies p and that every contract it names has a kernel here.
func check(p *plan.Plan) error {
	missing := map[string]bool{}
	for _, d := range p.Dispatches() {
		if _, ok := kernelFor(d.Kernel); !ok {
			missing[d.Kernel] = true
		}
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("interp: plan %s needs contracts the interpreter lacks: %s", p.Name, strings.Join(names, ", "))
	}
	return plan.Verify(p)
}

// Step runs one step of the plan: it writes the step parameters and the
// tokens, runs every dispatch, and returns a copy of the logits, N rows of
// the vocabulary size.
func (it *Interpreter) Step(tokens []int32, pos0 int) ([]float32, error) {
	p := it.p
	if len(tokens) != p.N {
		return nil, fmt.Errorf("interp: plan %s takes %d tokens, got %d", p.Name, p.N, len(tokens))
	}
	if pos0 < 0 || pos0+p.N > math.MaxInt32 {
		return nil, fmt.Errorf("interp: step position %d is out of range", pos0)
	}
	sp := plan.StepParams{Pos0: int32(pos0), N: int32(p.N), KVLen: int32(pos0 + p.N)}
	copy(it.bufs[plan.Step], plan.Encode(sp))
	for i, t := range tokens {
		binary.LittleEndian.PutUint32(it.bufs[plan.Tokens][4*i:], uint32(t))
	}
	// Poison the arena and logits (0xFF bytes are NaNs), so that a plan
	// reading a value it has not written this step shows NaNs, not stale
	// data that happens to be right.
	for _, k := range []plan.BufferKind{plan.Arena, plan.Logits} {
		for i := range it.bufs[k] {
			it.bufs[k][i] = 0xFF
		}
	}
	for i, d := range p.Dispatches() {
		run, _ := kernelFor(d.Kernel)
		c, _ := plan.Lookup(d.Kernel) // check found both in New or SetPlan
		if err := run(it, c, d); err != nil {
			return nil, fmt.Errorf("interp: plan %s dispatch %d (%s, %s): %w", p.Name, i, d.Node, d.Kernel, err)
		}
	}
	logits, err := it.floats(plan.Binding{Buffer: plan.Logits, Length: p.Buffers[plan.Logits].Size}, p.N, p.Vocab)
	if err != nil {
		return nil, fmt.Errorf("interp: plan %s logits: %w", p.Name, err)
	}
	return logits.F, nil
}

// bytesOf returns a binding's bytes.
func (it *Interpreter) bytesOf(b plan.Binding) []byte { return it.bufs[b.Buffer][b.Offset:b.End()] }

// floats reads an F32 binding as a tensor of the given shape (a new copy).
func (it *Interpreter) floats(b plan.Binding, shape ...int) (*ops.Tensor, error) {
	t := ops.NewTensor(shape...)
	if want := 4 * int64(len(t.F)); b.Length != want {
		return nil, fmt.Errorf("binding %s holds %d bytes, an F32 %s needs %d", b.Value, b.Length, graph.Shape(shape), want)
	}
	if err := binary.Read(bytes.NewReader(it.bytesOf(b)), binary.LittleEndian, t.F); err != nil {
		return nil, err
	}
	return t, nil
}

// store writes an F32 tensor into a binding of exactly its size.
func (it *Interpreter) store(b plan.Binding, t *ops.Tensor) error {
	if want := 4 * int64(len(t.F)); b.Length != want {
		return fmt.Errorf("binding %s holds %d bytes, the F32 %s result needs %d", b.Value, b.Length, t.Shape, want)
	}
	dst := it.bytesOf(b)
	for i, v := range t.F {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
	return nil
}

// tokens reads an I32 binding of n token ids.
func (it *Interpreter) tokens(b plan.Binding, n int) (*ops.Tensor, error) {
	if b.Length != 4*int64(n) {
		return nil, fmt.Errorf("binding %s holds %d bytes, %d token ids need %d", b.Value, b.Length, n, 4*n)
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(binary.LittleEndian.Uint32(it.bytesOf(b)[4*i:]))
	}
	return &ops.Tensor{Shape: graph.Shape{n}, Type: quant.I32, I: ids}, nil
}

// step reads the step parameters a dispatch is bound to.
func (it *Interpreter) step(b plan.Binding) (ops.Step, error) {
	var sp plan.StepParams
	if err := binary.Read(bytes.NewReader(it.bytesOf(b)), binary.LittleEndian, &sp); err != nil {
		return ops.Step{}, fmt.Errorf("step binding: %w", err)
	}
	return ops.Step{Pos0: int(sp.Pos0)}, nil
}

// weight dequantises a weight binding of rows×cols elements of type typ.
func (it *Interpreter) weight(b plan.Binding, typ quant.Type, rows, cols int) (*ops.Tensor, error) {
	key := weightKey{b.Offset, b.Length, typ, rows, cols}
	if t, ok := it.deq[key]; ok {
		return t, nil
	}
	rb, err := quant.RowBytes(typ, int64(cols))
	if err != nil {
		return nil, fmt.Errorf("weight %s: %w", b.Value, err)
	}
	if b.Length != rb*int64(rows) {
		return nil, fmt.Errorf("weight %s: binding holds %d bytes, %d rows of %d %s need %d", b.Value, b.Length, rows, cols, typ, rb*int64(rows))
	}
	raw := it.bytesOf(b)
	t := ops.NewTensor(rows, cols)
	for r := range rows {
		if err := quant.DequantizeRow(typ, raw[int64(r)*rb:int64(r+1)*rb], t.Row(r)); err != nil {
			return nil, fmt.Errorf("weight %s row %d: %w", b.Value, r, err)
		}
	}
	it.deq[key] = t
	return t, nil
}

// cache reads a KV cache binding of rows×width F32 or F16 values; an F16
// cache becomes float32 values tagged F16, as ops keeps them.
func (it *Interpreter) cache(b plan.Binding, typ quant.Type, rows, width int) (*ops.Tensor, error) {
	if typ == quant.F32 {
		return it.floats(b, rows, width)
	}
	t := ops.NewTensor(rows, width)
	t.Type = typ
	if typ != quant.F16 || b.Length != 2*int64(len(t.F)) {
		return nil, fmt.Errorf("cache %s: %d bytes of %s for %d×%d values", b.Value, b.Length, typ, rows, width)
	}
	raw := it.bytesOf(b)
	for i := range t.F {
		t.F[i] = quant.FP16ToFP32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return t, nil
}

// storeCache writes a cache tensor back in its storage type.
func (it *Interpreter) storeCache(b plan.Binding, t *ops.Tensor) error {
	if t.Type == quant.F32 {
		return it.store(b, t)
	}
	if b.Length != 2*int64(len(t.F)) {
		return fmt.Errorf("cache %s holds %d bytes, %d F16 values need %d", b.Value, b.Length, len(t.F), 2*len(t.F))
	}
	dst := it.bytesOf(b)
	for i, v := range t.F {
		binary.LittleEndian.PutUint16(dst[2*i:], quant.FP32ToFP16(v))
	}
	return nil
}
