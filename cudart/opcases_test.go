package cudart

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// The op cases are metalrt's (opcases_test.go, opcase_builders_test.go),
// which its darwin tests run against the CPU runtime the same way.

// An opCase is a plan of one dispatch whose inputs are random values in
// the weights buffer and whose outputs (caches included) are bound in the
// logits buffer, so that any runtime's Run returns them: that is how the
// device tests compare each CUDA kernel with the CPU runtime, the way
// llama.cpp's test-backend-ops compares backends op by op. All cases
// share one weights buffer, so one runtime runs them all.
type opCase struct {
	name   string
	plan   *plan.Plan
	tokens []int32
	pos0   int
	out    []segment
	// nmse bounds the normalised mean squared error, Σ(a−b)²/Σb², of each
	// output against the CPU runtime's.
	nmse float64
}

// segment is one output inside the logits buffer.
type segment struct {
	name   string
	offset int64 // bytes
	count  int
	typ    quant.Type // F32, or F16 for half caches
}

// Tolerances (NMSE) by what differs between the runtimes. Float kernels
// differ in summation order and libm only; the CPU runtime quantises
// activations to Q8_0/Q8_K (or rounds them to F16/BF16) for the weight
// types ggml does, the GPU kernels read float activations, which is what
// test-backend-ops allows mat-muls of quantised types (5e-4).
const (
	nmseFloat = 1e-6
	nmseHalf  = 1e-5 // F16 caches: both read the same halves; products in float
	nmseQuant = 5e-4
)

// arena is a byte buffer that places 256-byte-aligned regions.
type arena struct{ b []byte }

func (a *arena) place(n int) (off int64, b []byte) {
	start := (len(a.b) + 255) / 256 * 256
	a.b = append(a.b, make([]byte, start+n-len(a.b))...)
	return int64(start), a.b[start:]
}

// caseBuilder builds one case: inputs into the shared weights, outputs
// into the case's logits layout.
type caseBuilder struct {
	w    *arena
	rng  *rand.Rand
	out  arena
	c    opCase
	bind []plan.Binding
	n    int
}

func newCase(w *arena, name string, n int) *caseBuilder {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &caseBuilder{w: w, rng: rand.New(rand.NewPCG(1, h.Sum64())), n: n, c: opCase{name: name}}
}

// input adds count random values of type t, rows of rowLen, scaled.
func (b *caseBuilder) input(name string, t quant.Type, count, rowLen int, scale, bias float64) {
	rb, err := quant.RowBytes(t, int64(rowLen))
	if err != nil {
		panic(fmt.Sprintf("case %s input %s: %v", b.c.name, name, err))
	}
	rows := count / rowLen
	off, dst := b.w.place(rows * int(rb))
	row := make([]float32, rowLen)
	for r := range rows {
		for i := range row {
			row[i] = float32(b.rng.NormFloat64()*scale + bias)
		}
		if err := quant.QuantizeRow(t, row, dst[r*int(rb):(r+1)*int(rb)]); err != nil {
			panic(fmt.Sprintf("case %s input %s: %v", b.c.name, name, err))
		}
	}
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Weights, Offset: off, Length: int64(rows) * rb, Value: name})
}

func (b *caseBuilder) step() {
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Step, Length: 16, Value: "step"})
}

func (b *caseBuilder) tokens(vocab int) {
	b.c.tokens = make([]int32, b.n)
	for i := range b.c.tokens {
		b.c.tokens[i] = int32(b.rng.IntN(vocab))
	}
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Tokens, Length: 4 * int64(b.n), Value: "tokens"})
}

// output binds count values of type t in the logits buffer.
func (b *caseBuilder) output(name string, t quant.Type, count int) {
	size := count * 4
	if t == quant.F16 {
		size = count * 2
	}
	off, _ := b.out.place(size)
	b.c.out = append(b.c.out, segment{name: name, offset: off, count: count, typ: t})
	b.bind = append(b.bind, plan.Binding{Buffer: plan.Logits, Offset: off, Length: int64(size), Write: true, Value: name})
}

// done makes the plan: the logits buffer is padded to N rows of "vocab"
// floats.
func (b *caseBuilder) done(kernel string, params plan.Params, grid plan.Grid, nmse float64) opCase {
	rowBytes := 4 * b.n
	total := (len(b.out.b) + rowBytes - 1) / rowBytes * rowBytes
	p := &plan.Plan{Name: b.c.name, N: b.n, Vocab: total / rowBytes}
	sizes := [...]int64{plan.Step: 16, plan.Tokens: 4 * int64(b.n), plan.Logits: int64(total)}
	for k := range p.Buffers {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: sizes[k]}
	}
	p.Commands = []plan.CommandBuffer{{Dispatches: []plan.Dispatch{
		{Kernel: kernel, Node: b.c.name, Bindings: b.bind, Params: params, Grid: grid},
	}}}
	b.c.plan, b.c.nmse = p, nmse
	if b.c.tokens == nil {
		b.c.tokens = make([]int32, b.n) // a step always has N tokens; only embed reads them
	}
	return b.c
}

// matTolerance is the bound for mat-vecs with weights of type t.
func matTolerance(t quant.Type) float64 {
	if t == quant.F32 {
		return nmseFloat
	}
	return nmseQuant
}

// opCases builds a case for every contract: mat-vec families with every
// weight type at token counts their variant serves (tails of rows, tiles
// and token tiles included), and the other families at model-like sizes.
func opCases() (cases []opCase, weights []byte) {
	w := &arena{}
	add := func(c opCase) { cases = append(cases, c) }
	for _, t := range plan.WeightTypes {
		for _, c := range matCases(w, t) {
			add(c)
		}
		b := newCase(w, "embed_"+lower(t), 5)
		b.input("table", t, 40*512, 512, 1, 0)
		b.tokens(40)
		b.output("out", quant.F32, 5*512)
		add(b.done(plan.Name("embed", t), plan.EmbedParams{Dim: 512, Vocab: 40, N: 5}, plan.Grid{512, 5, 1}, nmseFloat))
	}
	for _, c := range []struct{ dim, n int }{{4096, 2}, {64, 3}, {100, 1}} {
		b := newCase(w, fmt.Sprintf("rmsnorm/dim=%d/n=%d", c.dim, c.n), c.n)
		b.input("x", quant.F32, c.n*c.dim, c.dim, 1, 0)
		b.input("weight", quant.F32, c.dim, c.dim, 0.1, 1)
		b.output("out", quant.F32, c.n*c.dim)
		add(b.done("rmsnorm", plan.NormParams{Dim: int32(c.dim), N: int32(c.n), Eps: 1e-5}, plan.Grid{c.n, 1, 1}, nmseFloat))
	}
	for _, dims := range []int{128, 64} {
		const heads, hd, n = 8, 128, 3
		b := newCase(w, fmt.Sprintf("rope/dims=%d", dims), n)
		b.step()
		b.input("x", quant.F32, n*heads*hd, heads*hd, 1, 0)
		b.output("out", quant.F32, n*heads*hd)
		c := b.done("rope", plan.RopeParams{Heads: heads, HeadDim: hd, Dims: int32(dims), N: n, Base: 10000, FreqScale: 1}, plan.Grid{heads, n, 1}, nmseFloat)
		c.pos0 = 5
		add(c)
	}
	for _, e := range []struct {
		name string
		fn   func(*arena, quant.Type) opCase
	}{{"kv_write", kvWriteCase}, {"rope_kv_write", ropeKVWriteCase}} {
		for _, ct := range plan.CacheTypes {
			add(e.fn(w, ct))
		}
	}
	for _, ct := range plan.CacheTypes {
		for _, a := range []struct {
			family          string
			n, pos0, window int
		}{
			{"attn_decode", 1, 300, 0},   // many KV blocks per simdgroup
			{"attn_decode", 4, 37, 0},    // a verification step
			{"attn_prefill", 12, 9, 0},   // a query tile and a tail
			{"attn_prefill", 12, 40, 16}, // sliding window
		} {
			add(attnCase(w, a.family, ct, a.n, a.pos0, a.window))
		}
	}
	for _, fam := range []string{"swiglu", "add"} {
		const count = 1000
		b := newCase(w, fam, 1)
		b.input("a", quant.F32, count, count, 1, 0)
		b.input("b", quant.F32, count, count, 1, 0)
		b.output("out", quant.F32, count)
		add(b.done(fam, plan.EltParams{Count: count}, plan.Grid{count, 1, 1}, nmseFloat))
	}
	for _, c := range cases {
		c.plan.Buffers[plan.Weights].Size = int64(len(w.b))
	}
	return cases, w.b
}

// matCases covers the mat-vec families of one weight type.
func matCases(w *arena, t quant.Type) []opCase {
	const cols = 512 // whole K-quant super-blocks
	var out []opCase
	for _, v := range []struct {
		variant string
		rows    int // not a multiple of the rows per threadgroup or tile
		ns      []int
	}{{"matvec", 72, []int{1, 3}}, {"mtmatvec", 72, []int{2, 8}}, {"matmul", 136, []int{37}}} {
		for _, form := range []string{"", "@acc", "@qkv", "@gate_up"} {
			for _, n := range v.ns {
				fam := v.variant + form
				out = append(out, matCase(w, fmt.Sprintf("%s/n=%d", plan.Name(fam, t), n), fam, t, v.rows, cols, n))
			}
		}
	}
	return out
}

// kvWriteCase stores 3 rows of a width with a tail of 256 threads.
func kvWriteCase(w *arena, ct quant.Type) opCase {
	const width, n, capacity = 300, 3, 8
	b := newCase(w, plan.Name("kv_write", ct), n)
	b.step()
	b.input("k", quant.F32, n*width, width, 1, 0)
	b.input("v", quant.F32, n*width, width, 1, 0)
	b.output("k_cache", ct, capacity*width)
	b.output("v_cache", ct, capacity*width)
	c := b.done(plan.Name("kv_write", ct), plan.KVParams{Width: width, N: n, Capacity: capacity}, plan.Grid{width, n, 1}, cacheTolerance(ct))
	c.pos0 = 2
	return c
}

// ropeKVWriteCase ropes q and k of a GQA model and stores k and v.
func ropeKVWriteCase(w *arena, ct quant.Type) opCase {
	const heads, kvHeads, hd, n, capacity = 8, 2, 128, 3, 16
	b := newCase(w, plan.Name("rope_kv_write", ct), n)
	b.step()
	b.input("q", quant.F32, n*heads*hd, heads*hd, 1, 0)
	b.input("k", quant.F32, n*kvHeads*hd, kvHeads*hd, 1, 0)
	b.input("v", quant.F32, n*kvHeads*hd, kvHeads*hd, 1, 0)
	b.output("q_out", quant.F32, n*heads*hd)
	b.output("k_cache", ct, capacity*kvHeads*hd)
	b.output("v_cache", ct, capacity*kvHeads*hd)
	c := b.done(plan.Name("rope_kv_write", ct), plan.RopeKVParams{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Dims: hd, N: n,
		Capacity: capacity, Base: 1e6, FreqScale: 1}, plan.Grid{heads, n, 1}, cacheTolerance(ct))
	c.pos0 = 7
	return c
}

// attnCase attends n queries at pos0.. over random caches (GQA 8/2, head
// dim 128, 320 positions).
func attnCase(w *arena, family string, ct quant.Type, n, pos0, window int) opCase {
	name := fmt.Sprintf("%s/n=%d/pos0=%d/window=%d", plan.Name(family, ct), n, pos0, window)
	return attnCaseOf(w, name, family, ct, attnShape{heads: 8, kvHeads: 2, headDim: 128, capacity: 320}, n, pos0, window)
}

func cacheTolerance(ct quant.Type) float64 {
	if ct == quant.F16 {
		return nmseHalf
	}
	return nmseFloat
}

func lower(t quant.Type) string { return strings.ToLower(t.String()) }

// Builders of single op cases that both opCases and the emulator's ragged
// cases (emulator_test.go) use.

// matCase is a case of mat-vec family fam (e.g. "mtmatvec@qkv") over
// weights of type t: rows × cols, n tokens. The qkv form splits rows into
// rows − rows/4 of Wq and rows/8 each of Wk and Wv.
func matCase(w *arena, name, fam string, t quant.Type, rows, cols, n int) opCase {
	b := newCase(w, name, n)
	_, form, _ := strings.Cut(fam, "@")
	switch form {
	case "qkv":
		rq, rkv := rows-rows/4, rows/8
		b.input("wq", t, rq*cols, cols, 1, 0)
		b.input("wk", t, rkv*cols, cols, 1, 0)
		b.input("wv", t, rkv*cols, cols, 1, 0)
		b.input("x", quant.F32, n*cols, cols, 1, 0)
		b.output("q", quant.F32, n*rq)
		b.output("k", quant.F32, n*rkv)
		b.output("v", quant.F32, n*rkv)
		return b.done(plan.Name(fam, t), plan.QKVParams{RowsQ: int32(rq), RowsKV: int32(rkv), Cols: int32(cols), N: int32(n)},
			plan.Grid{rq + 2*rkv, n, 1}, matTolerance(t))
	}
	switch form {
	case "gate_up":
		b.input("w_gate", t, rows*cols, cols, 1, 0)
		b.input("w_up", t, rows*cols, cols, 1, 0)
		b.input("x", quant.F32, n*cols, cols, 0.1, 0) // keep silu out of saturation
	default:
		b.input("weight", t, rows*cols, cols, 1, 0)
		b.input("x", quant.F32, n*cols, cols, 1, 0)
	}
	if form == "acc" {
		b.input("residual", quant.F32, n*rows, rows, 10, 0)
	}
	b.output("y", quant.F32, n*rows)
	return b.done(plan.Name(fam, t), plan.MatParams{Rows: int32(rows), Cols: int32(cols), N: int32(n)},
		plan.Grid{rows, n, 1}, matTolerance(t))
}

// attnShape is the attention geometry of a case.
type attnShape struct{ heads, kvHeads, headDim, capacity int }

// attnCaseOf attends n queries at pos0.. over random caches of shape s.
func attnCaseOf(w *arena, name, family string, ct quant.Type, s attnShape, n, pos0, window int) opCase {
	b := newCase(w, name, n)
	b.step()
	b.input("q", quant.F32, n*s.heads*s.headDim, s.heads*s.headDim, 1, 0)
	b.input("k_cache", ct, s.capacity*s.kvHeads*s.headDim, s.kvHeads*s.headDim, 1, 0)
	b.input("v_cache", ct, s.capacity*s.kvHeads*s.headDim, s.kvHeads*s.headDim, 1, 0)
	b.output("out", quant.F32, n*s.heads*s.headDim)
	c := b.done(plan.Name(family, ct), plan.AttnParams{Heads: int32(s.heads), KVHeads: int32(s.kvHeads), HeadDim: int32(s.headDim),
		N: int32(n), Capacity: int32(s.capacity), Window: int32(window), Scale: float32(1 / math.Sqrt(float64(s.headDim)))},
		plan.Grid{s.heads, n, 1}, cacheTolerance(ct))
	c.pos0 = pos0
	return c
}

// segmentValues decodes one output from a runtime's logits.
func segmentValues(logits []float32, s segment) []float64 {
	out := make([]float64, s.count)
	raw := make([]byte, 4*len(logits))
	for i, v := range logits {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	for i := range out {
		if s.typ == quant.F16 {
			out[i] = float64(quant.FP16ToFP32(binary.LittleEndian.Uint16(raw[s.offset+2*int64(i):])))
		} else {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[s.offset+4*int64(i):])))
		}
	}
	return out
}

// nmse is Σ(a−b)²/Σb², with b the reference.
func nmse(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		d := a[i] - b[i]
		num += d * d
		den += b[i] * b[i]
	}
	if den == 0 {
		return num
	}
	return num / den
}

// TestOpCasesLaunch checks the cases on any machine: each plan verifies,
// runs on the CPU runtime, and gets a CUDA launch; every contract has a
// case, so the device tests (device_test.go) cover every kernel.
func TestOpCasesLaunch(t *testing.T) {
	cases, weights := opCases()
	rt, err := cpurt.New(weights, cpurt.Options{Threads: 2})
	require.NoError(t, err)
	defer rt.Close()
	covered := map[string]bool{}
	for _, c := range cases {
		d := c.plan.Commands[0].Dispatches[0]
		covered[d.Kernel] = true
		require.NoError(t, plan.Verify(c.plan), c.name)
		_, err := Geometry(&d)
		require.NoError(t, err, c.name)
		prog, err := rt.Compile(c.plan)
		require.NoError(t, err, c.name)
		_, err = prog.Run(c.tokens, c.pos0)
		require.NoError(t, err, c.name)
	}
	for _, c := range plan.Contracts() {
		require.True(t, covered[c.Name], "no case for contract %s", c.Name)
	}
}
