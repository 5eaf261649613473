package cpurt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/fvec"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Per-contract tests: each runs one dispatch of a tiny random plan and
// compares with the op table's float reference (ops Eval on dequantised
// weights). Tolerances are relative to the output's largest magnitude.
//
// matTolerance bounds the effect of converting activations the way ggml
// does. Q8_0/Q8_K steps are amax/127 per block, an error of ~0.3% of an
// element's scale that averages down over a row to ~0.6% of a typical
// output, ~2% at the worst of a few hundred outputs, and less than 1% of
// the largest one; 2e-2 keeps margin while a wrong scale, block or nibble
// order errs by tens of percent. F16 rounding (2^-11) and BF16 (2^-8) give
// proportionally smaller bounds; F32 only float32 products against the
// reference's float64 sum. The gate_up forms multiply two such dots, so
// their relative errors add: they get twice the bound.
var matTolerance = map[quant.Type]float64{
	quant.F32: 1e-5, quant.F16: 1e-3, quant.BF16: 1e-2,
	quant.Q4_0: 2e-2, quant.Q8_0: 2e-2, quant.Q4_K: 2e-2, quant.Q5_K: 2e-2, quant.Q6_K: 2e-2,
}

// ropeTolerance: ggml (and this runtime) build θ by repeated float32
// multiplication by base^(-2/dims) from the position, the reference by
// float64 pow: a relative θ error of up to dims/2 float32 roundings
// (~4e-7), i.e. ~1e-5 radians at the positions tested (< 40).
const ropeTolerance = 1e-5

// attnTolerance: an F32 cache differs from the float64 reference by
// float32 sums only; an F16 cache additionally rounds Q and the softmax
// probabilities to F16 (2^-11 relative each) as ggml does.
var attnTolerance = map[quant.Type]float64{quant.F32: 1e-5, quant.F16: 3e-3}

func TestEveryContractMatchesReference(t *testing.T) {
	for _, c := range plan.Contracts() {
		t.Run(c.Name, func(t *testing.T) {
			require.True(t, Supports(c.Name))
			r := rand.New(rand.NewPCG(1, uint64(len(c.Name))))
			fam, _, _ := strings.Cut(c.Family, "@")
			var worst float64
			switch fam {
			case "embed":
				worst = checkEmbed(t, r, c)
			case "rmsnorm":
				worst = checkRMSNorm(t, r, c)
			case "rope":
				worst = checkRope(t, r, c)
			case "kv_write":
				worst = checkKVWrite(t, r, c)
			case "rope_kv_write":
				worst = checkRopeKVWrite(t, r, c)
			case "attn_decode", "attn_prefill":
				worst = checkAttention(t, r, c)
			case "swiglu", "add":
				worst = checkElementwise(t, r, c)
			case "matvec", "mtmatvec", "matmul":
				worst = checkMat(t, r, c)
			default:
				t.Fatalf("no test for family %s", c.Family)
			}
			t.Logf("%s: worst relative error %.3g", c.Name, worst)
		})
	}
}

func eval(t testing.TB, op ops.Op, pos0 int, in ...*ops.Tensor) []*ops.Tensor {
	t.Helper()
	out, err := op.Eval(ops.Step{Pos0: pos0}, in)
	require.NoError(t, err)
	return out
}

func run(t testing.TB, p *Program, tokens []int32, pos0 int) {
	t.Helper()
	_, err := p.Run(tokens, pos0)
	require.NoError(t, err)
}

func checkEmbed(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const vocab, dim, n = 40, 256, 4
	data, table := quantized(t, c.Weight, vocab, dim, randn(r, vocab*dim, 1))
	b := &planBuilder{n: n}
	out := b.act("out", n*dim)
	pl := b.plan(t, c.Name, plan.EmbedParams{Dim: dim, Vocab: vocab, N: n}, b.weight("table", data), b.tokens(), out)
	p := b.compile(t, pl)
	tokens := []int32{3, 39, 0, 3}
	run(t, p, tokens, 0)
	tok := &ops.Tensor{Shape: []int{n}, Type: quant.I32, I: tokens}
	want := eval(t, ops.EmbedOp{}, 0, table, tok)[0]
	require.Equal(t, want.F, floats(t, p, out), "rows are dequantised exactly")
	return 0
}

func checkRMSNorm(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const dim, n, eps = 64, 3, 1e-5
	x, w := randn(r, n*dim, 2), randn(r, dim, 1)
	b := &planBuilder{n: n}
	xb, out := b.act("x", n*dim), b.act("out", n*dim)
	wdata, _ := quantized(t, quant.F32, 1, dim, w)
	p := b.compile(t, b.plan(t, c.Name, plan.NormParams{Dim: dim, N: n, Eps: eps}, xb, b.weight("w", wdata), out))
	copy(floats(t, p, xb), x)
	run(t, p, make([]int32, n), 0)
	want := eval(t, ops.RMSNormOp{Eps: eps}, 0, tensor(x, n, dim), tensor(w, dim))[0]
	e := relErr(floats(t, p, out), want.F)
	require.LessOrEqual(t, e, 1e-6, "float32 roundings only")
	return e
}

func checkRope(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const heads, hd, dims, n, pos0 = 3, 16, 12, 3, 37
	op := ops.RopeOp{Heads: heads, HeadDim: hd, Dims: dims, Base: 10000, FreqScale: 0.5}
	x := randn(r, n*heads*hd, 1)
	b := &planBuilder{n: n}
	xb, out := b.act("x", len(x)), b.act("out", len(x))
	pr := plan.RopeParams{Heads: heads, HeadDim: hd, Dims: dims, N: n, Base: op.Base, FreqScale: op.FreqScale}
	p := b.compile(t, b.plan(t, c.Name, pr, stepBinding(), xb, out))
	copy(floats(t, p, xb), x)
	run(t, p, make([]int32, n), pos0)
	want := eval(t, op, pos0, tensor(x, n, heads*hd))[0]
	e := relErr(floats(t, p, out), want.F)
	require.LessOrEqual(t, e, ropeTolerance)
	return e
}

// cacheTensors fills a cache binding with random values (F16-rounded for
// an F16 cache) and returns the reference tensor holding the same values.
func fillCache(t testing.TB, r *rand.Rand, p *Program, b plan.Binding, ct quant.Type, rows, width int) *ops.Tensor {
	vals := randn(r, rows*width, 1)
	ref := tensor(vals, rows, width)
	ref.Type = ct
	if ct == quant.F16 {
		h := halves(t, p, b)
		for i, v := range vals {
			h[i] = quant.FP32ToFP16(v)
			ref.F[i] = quant.FP16ToFP32(h[i])
		}
		return ref
	}
	copy(floats(t, p, b), vals)
	return ref
}

func readCache(t testing.TB, p *Program, b plan.Binding, ct quant.Type) []float32 {
	if ct == quant.F32 {
		return floats(t, p, b)
	}
	h := halves(t, p, b)
	out := make([]float32, len(h))
	for i, v := range h {
		out[i] = quant.FP16ToFP32(v)
	}
	return out
}

func checkKVWrite(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const width, n, capacity, pos0 = 24, 3, 10, 4
	b := &planBuilder{n: n}
	kb, vb := b.act("k", n*width), b.act("v", n*width)
	kcb, vcb := b.cache("kc", c.Cache, capacity*width), b.cache("vc", c.Cache, capacity*width)
	pr := plan.KVParams{Width: width, N: n, Capacity: capacity}
	p := b.compile(t, b.plan(t, c.Name, pr, stepBinding(), kb, vb, kcb, vcb))
	k, v := randn(r, n*width, 1), randn(r, n*width, 1)
	copy(floats(t, p, kb), k)
	copy(floats(t, p, vb), v)
	kc := fillCache(t, r, p, kcb, c.Cache, capacity, width)
	vc := fillCache(t, r, p, vcb, c.Cache, capacity, width)
	run(t, p, make([]int32, n), pos0)
	eval(t, ops.KVWriteOp{}, pos0, kc, vc, tensor(k, n, width), tensor(v, n, width))
	require.Equal(t, kc.F, readCache(t, p, kcb, c.Cache), "rows at the step's positions replaced, others kept")
	require.Equal(t, vc.F, readCache(t, p, vcb, c.Cache))
	return 0
}

func checkRopeKVWrite(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const heads, kvHeads, hd, n, capacity, pos0 = 4, 2, 16, 3, 10, 5
	qw, kw := heads*hd, kvHeads*hd
	op := ops.RopeKVWriteOp{Rope: ops.RopeOp{Heads: heads, HeadDim: hd, Dims: hd, Base: 10000, FreqScale: 1}}
	b := &planBuilder{n: n}
	qb, kb, vb, qo := b.act("q", n*qw), b.act("k", n*kw), b.act("v", n*kw), b.act("q_out", n*qw)
	kcb, vcb := b.cache("kc", c.Cache, capacity*kw), b.cache("vc", c.Cache, capacity*kw)
	pr := plan.RopeKVParams{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Dims: hd, N: n, Capacity: capacity, Base: 10000, FreqScale: 1}
	p := b.compile(t, b.plan(t, c.Name, pr, stepBinding(), qb, kb, vb, qo, kcb, vcb))
	q, k, v := randn(r, n*qw, 1), randn(r, n*kw, 1), randn(r, n*kw, 1)
	copy(floats(t, p, qb), q)
	copy(floats(t, p, kb), k)
	copy(floats(t, p, vb), v)
	kc := fillCache(t, r, p, kcb, c.Cache, capacity, kw)
	vc := fillCache(t, r, p, vcb, c.Cache, capacity, kw)
	run(t, p, make([]int32, n), pos0)
	want := eval(t, op, pos0, tensor(q, n, qw), tensor(k, n, kw), tensor(v, n, kw), kc, vc)
	// An F16 cache may round the roped K to the neighbouring half.
	tol := ropeTolerance
	if c.Cache == quant.F16 {
		tol += 1.0 / 2048
	}
	e := max(relErr(floats(t, p, qo), want[0].F), relErr(readCache(t, p, kcb, c.Cache), kc.F))
	require.LessOrEqual(t, e, tol)
	require.Equal(t, vc.F, readCache(t, p, vcb, c.Cache), "V is stored unchanged")
	return e
}

func checkAttention(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const heads, kvHeads, hd, capacity, pos0 = 4, 2, 32, 16, 7
	n := 1
	if c.Family == "attn_prefill" {
		n = 5
	}
	var worst float64
	for _, window := range []int{0, 3} {
		op := ops.AttentionOp{Heads: heads, KVHeads: kvHeads, HeadDim: hd, Scale: float32(1 / math.Sqrt(hd)), Window: window}
		qw, kw := heads*hd, kvHeads*hd
		b := &planBuilder{n: n}
		qb, out := b.act("q", n*qw), b.act("out", n*qw)
		kcb, vcb := b.cache("kc", c.Cache, capacity*kw), b.cache("vc", c.Cache, capacity*kw)
		pr := plan.AttnParams{Heads: heads, KVHeads: kvHeads, HeadDim: hd, N: int32(n), Capacity: capacity, Window: int32(window), Scale: op.Scale}
		p := b.compile(t, b.plan(t, c.Name, pr, stepBinding(), qb, kcb, vcb, out))
		q := randn(r, n*qw, 1)
		copy(floats(t, p, qb), q)
		kc := fillCache(t, r, p, kcb, c.Cache, capacity, kw)
		vc := fillCache(t, r, p, vcb, c.Cache, capacity, kw)
		poisonCache(t, p, kcb, c.Cache, (pos0+n)*kw)
		poisonCache(t, p, vcb, c.Cache, (pos0+n)*kw)
		run(t, p, make([]int32, n), pos0)
		want := eval(t, op, pos0, tensor(q, n, qw), kc, vc)[0]
		e := relErr(floats(t, p, out), want.F)
		require.LessOrEqual(t, e, attnTolerance[c.Cache], "window %d", window)
		worst = max(worst, e)
	}
	return worst
}

// poisonCache writes NaN past the step's last position: attention must not
// read beyond KVLen.
func poisonCache(t testing.TB, p *Program, b plan.Binding, ct quant.Type, from int) {
	if ct == quant.F16 {
		h := halves(t, p, b)
		for i := from; i < len(h); i++ {
			h[i] = 0x7e00
		}
		return
	}
	f := floats(t, p, b)
	for i := from; i < len(f); i++ {
		f[i] = float32(math.NaN())
	}
}

// siluULPs bounds swiglu against the reference's exp: ggml_v_expf's 1.96
// ulp (package fvec), damped by the division, plus the roundings of 1+e,
// the division and the product. An ulp is at most 2^-23 of a value.
const siluULPs = 4

// checkElementwise runs the op out of place and in place (out over a):
// add exactly as the reference, swiglu exactly as fvec.SiLUMul over the
// whole row (so the split into chunks keeps ggml's blocks of 8) and within
// siluULPs of the reference.
func checkElementwise(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const count = 3*eltGrain + 17
	var op ops.Op = ops.AddOp{}
	if c.Name == "swiglu" {
		op = ops.SwiGLUOp{}
	}
	a, x := randn(r, count, 3), randn(r, count, 3)
	want := eval(t, op, 0, tensor(a, count), tensor(x, count))[0].F
	var worst float64
	if c.Name == "swiglu" {
		ref := want
		want = make([]float32, count)
		fvec.SiLUMul(want, a, x)
		for i, w := range ref {
			e := math.Abs(float64(want[i]-w)) / math.Max(math.Abs(float64(w)), 1e-30)
			require.LessOrEqualf(t, e, siluULPs*0x1p-23, "silu(%g)·%g", a[i], x[i])
			worst = max(worst, e)
		}
	}
	for _, inPlace := range []bool{false, true} {
		b := &planBuilder{n: 1}
		ab, xb := b.act("a", count), b.act("b", count)
		out := b.act("out", count)
		if inPlace {
			out = ab
		}
		p := b.compile(t, b.plan(t, c.Name, plan.EltParams{Count: count}, ab, xb, out))
		copy(floats(t, p, ab), a)
		copy(floats(t, p, xb), x)
		run(t, p, []int32{0}, 0)
		require.Equal(t, want, floats(t, p, out), "in place %v", inPlace)
	}
	return worst
}

// checkMat runs a mat-vec contract and checks every output twice: exactly
// against quant's ggml-order dot product of the converted activation row,
// and within matTolerance against the float reference.
func checkMat(t *testing.T, r *rand.Rand, c plan.Contract) float64 {
	const cols, rows, rowsKV = 256, 40, 24
	_, form, _ := strings.Cut(c.Family, "@")
	n := 5
	if strings.HasPrefix(c.Family, "matmul") {
		n = tileTokens + 3 // more than one token tile
	}
	b := &planBuilder{n: n}
	wRows := []int{rows}
	switch form {
	case "qkv":
		wRows = []int{rows, rowsKV, rowsKV}
	case "gate_up":
		wRows = []int{rows, rows}
	}
	var wb []plan.Binding
	var wdata [][]byte
	var wref []*ops.Tensor
	for i, wr := range wRows {
		data, ref := quantized(t, c.Weight, wr, cols, randn(r, wr*cols, 1/math.Sqrt(cols)))
		wb = append(wb, b.weight(fmt.Sprint("w", i), data))
		wdata, wref = append(wdata, data), append(wref, ref)
	}
	xb := b.act("x", n*cols)
	x := randn(r, n*cols, 1)
	var outs []plan.Binding
	var params plan.Params = plan.MatParams{Rows: rows, Cols: cols, N: int32(n)}
	bindings := append(append([]plan.Binding(nil), wb...), xb)
	var res []float32
	var want []*ops.Tensor
	xt := tensor(x, n, cols)
	switch form {
	case "":
		want = eval(t, ops.MatMulOp{}, 0, wref[0], xt)
	case "acc":
		res = randn(r, n*rows, 1)
		want = eval(t, ops.MatMulAddOp{}, 0, wref[0], xt, tensor(res, n, rows))
		resb := b.act("residual", n*rows)
		bindings = append(bindings, resb)
		outs = append(outs, resb) // in place, as plan_memory places it
	case "qkv":
		want = eval(t, ops.QKVOp{}, 0, wref[0], wref[1], wref[2], xt)
		params = plan.QKVParams{RowsQ: rows, RowsKV: rowsKV, Cols: cols, N: int32(n)}
	case "gate_up":
		want = eval(t, ops.GateUpOp{}, 0, wref[0], wref[1], xt)
	}
	if outs == nil {
		for i := range want {
			outs = append(outs, b.act(fmt.Sprint("y", i), n*want[i].Shape[1]))
		}
	}
	bindings = append(bindings, outs...)
	p := b.compile(t, b.plan(t, c.Name, params, bindings...))
	copy(floats(t, p, xb), x)
	if res != nil {
		copy(floats(t, p, outs[0]), res)
	}
	run(t, p, make([]int32, n), 0)

	rb := len(wdata[0]) / wRows[0]
	act := make([]byte, quant.ActivationBytes(c.Weight, cols))
	var worst float64
	for o, ob := range outs {
		got := floats(t, p, ob)
		for i := range n {
			xi := x[i*cols : (i+1)*cols]
			require.NoError(t, quantizeActivation(c.Weight, xi, act))
			dot := func(w []byte, row int) float32 { return singleDot(c.Weight, w[row*rb:(row+1)*rb], act, xi) }
			if c.Weight == quant.Q4_0 {
				dot = func(w []byte, row int) float32 { return tileDot(w, row, act, cols) } // tiles.go
			}
			if c.Weight == quant.F16 || c.Weight == quant.BF16 {
				// ggml's summation order for this shape (halfdot.go),
				// over x rounded to the weight type.
				xr := make([]float32, cols)
				for j, v := range xi {
					xr[j] = quant.FP16ToFP32(quant.FP32ToFP16(v))
					if c.Weight == quant.BF16 {
						xr[j] = quant.BF16ToFP32(quant.FP32ToBF16(v))
					}
				}
				hd := halfDotFunc(c.Weight, halfOrderFor(n, want[o].Shape[1], cols))
				dot = func(w []byte, row int) float32 { return hd(w[row*rb:(row+1)*rb], nil, xr) }
			}
			for row := range want[o].Shape[1] {
				var exact float32
				switch form {
				case "", "qkv":
					exact = dot(wdata[o], row)
				case "acc":
					exact = dot(wdata[0], row) + res[i*rows+row]
				case "gate_up":
					exact = vectorSiLUMul(dot(wdata[0], row), dot(wdata[1], row)) // rows % 8 == 0: ggml's vector silu
				}
				require.Equal(t, exact, got[i*want[o].Shape[1]+row], "output %d token %d row %d", o, i, row)
			}
		}
		tol := matTolerance[c.Weight]
		if form == "gate_up" {
			tol *= 2
		}
		e := relErr(got, want[o].F)
		require.LessOrEqual(t, e, tol, "output %d", o)
		worst = max(worst, e)
	}
	return worst
}

// singleDot is one weight row times one activation row through quant's
// one-row dots: the multi-row and multi-token kernels must give its bits.
func singleDot(t quant.Type, w, act []byte, x []float32) float32 {
	n := len(x)
	switch t {
	case quant.Q4_0:
		return quant.DotQ4_0Q8_0Lanes(w, act, n)
	case quant.Q8_0:
		return quant.DotQ8_0Q8_0Lanes(w, act, n)
	case quant.Q4_K:
		return quant.DotQ4_KQ8_KLanes(w, act, n)
	case quant.Q5_K:
		return quant.DotQ5_KQ8_KLanes(w, act, n)
	case quant.Q6_K:
		return quant.DotQ6_KQ8_KLanes(w, act, n)
	}
	return quant.DotF32F32(w, x)
}

// tileDot is row of the Q4_0 weights w times one activation row through
// quant's tile kernel, as every Q4_0 mat-vec variant computes it.
func tileDot(w []byte, row int, act []byte, cols int) float32 {
	rb := cols / 32 * 18
	g := row / quant.TileRows * quant.TileRows
	tile := make([]byte, quant.TileRows*rb)
	quant.PackQ4_0Tile(tile, w[g*rb:(g+quant.TileRows)*rb], cols)
	sums := make([]byte, quant.TileActivationBytes(cols))
	quant.PrepareTileActivation(sums, act, cols)
	var dst [quant.TileRows]float32
	quant.DotQ4_0Tile1(&dst, tile, act, sums, cols)
	return dst[row-g]
}

// vectorSiLUMul is silu(g)·u by ggml's vector silu (fvec.SiLUMul over a
// whole block of 8), as a row of gate values whose length is a multiple
// of 8 gets it.
func vectorSiLUMul(g, u float32) float32 {
	gs, us := [8]float32{g}, [8]float32{u}
	fvec.SiLUMul(gs[:], gs[:], us[:])
	return gs[0]
}
