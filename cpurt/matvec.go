package cpurt

import (
	"strings"

	"github.com/metalgraph/metalgraph/internal/fvec"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// The mat-vec families compute y[i,r] = W[r]·x[i] like ggml's CPU backend:
// each activation row is converted once per dispatch to the weight type's
// dot type (Q8_0 for Q4_0 and Q8_0, Q8_K for the K-quants, F16 or BF16
// rounding for those weights), then every output is one dot product of a
// weight row with a converted row. The three variants differ only in loop
// order, so they give identical results (F16 and BF16 dots alone change
// their summation order between N = 1 and N ≥ 2, as ggml does):
//   - matvec: token by token, each token reading all its rows;
//   - mtmatvec: row by row, each weight row read once for all tokens;
//   - matmul: tiles of rows × tokens, so both stay in cache.

type matForm uint8

const (
	formPlain  matForm = iota
	formAcc            // y = residual + W·x; residual may be y itself
	formQKV            // three weights, three outputs
	formGateUp         // y = silu(Wg·x) · (Wu·x)
)

// Tile sizes of the matmul variant and the smallest row chunk per worker.
const (
	tileRows   = 16
	tileTokens = 16
	rowGrain   = 8
)

type matKernel struct {
	p        *Program
	form     matForm
	n, cols  int
	rowBytes int
	x        []float32
	w        [3][]byte // plain/acc: W; qkv: Wq, Wk, Wv; gate_up: Wg, Wu
	rows     [3]int    // rows of each output (qkv: q, k, v)
	out      [3][]float32
	res      []float32
	actBytes int  // quantised bytes per token; 0 for float weights
	rounded  bool // float weights whose activations are rounded (F16, BF16)
	weight   quant.Type
	halfTile bool // the matmul takes tinyBLAS tiles of F16 or BF16 weights (halftile.go)
	// Per weight: the dots of consecutive rows with one activation row,
	// and of one row with consecutive activation rows.
	rowsDot, tokensDot [3]multiDot
	tileState          []tileState // per worker, for the tiled mat-mat (tiles.go)
	groups             bool        // the tiles take steps of several tokens in groups (tiles.go)
	logits             bool        // the output is the plan's logits (see Program.RunLast)
}

// first is the first token whose outputs a step needs: the last one when
// the output is the logits and the caller asked for the last row alone.
func (k *matKernel) first() int {
	if k.logits && k.p.lastOnly {
		return k.n - 1
	}
	return 0
}

// multiDot sets each dst[j] to one dot product of a weight row with an
// activation row (quantised in a, or floats in x): for rowsDot, of the
// len(dst) consecutive rows in w with the one activation row; for
// tokensDot, of the one row in w with len(dst) consecutive activation rows.
type multiDot func(dst []float32, w, a []byte, x []float32)

func buildMat(c *compiler) ([]phase, error) {
	variant, formName, _ := strings.Cut(c.c.Family, "@")
	k := &matKernel{p: c.p, form: map[string]matForm{"": formPlain, "acc": formAcc, "qkv": formQKV, "gate_up": formGateUp}[formName]}
	t := c.c.Weight
	k.weight = t
	var nIn, nOut int // binding indices of x and the first output
	switch k.form {
	case formQKV:
		pr := c.d.Params.(plan.QKVParams)
		if err := c.positive("RowsQ, RowsKV, Cols, N", pr.RowsQ, pr.RowsKV, pr.Cols, pr.N); err != nil {
			return nil, err
		}
		k.n, k.cols = int(pr.N), int(pr.Cols)
		k.rows = [3]int{int(pr.RowsQ), int(pr.RowsKV), int(pr.RowsKV)}
		nIn, nOut = 3, 4
	default:
		pr := c.d.Params.(plan.MatParams)
		if err := c.positive("Rows, Cols, N", pr.Rows, pr.Cols, pr.N); err != nil {
			return nil, err
		}
		k.n, k.cols = int(pr.N), int(pr.Cols)
		k.rows[0] = int(pr.Rows)
		nIn, nOut = 1, 2
		if k.form == formAcc {
			nOut = 3
		}
		if k.form == formGateUp {
			k.rows[1] = k.rows[0]
			nIn, nOut = 2, 3
		}
	}
	if err := quant.CheckDot(t, k.cols); err != nil {
		return nil, c.errorf("%v", err)
	}
	rb, _ := quant.RowBytes(t, int64(k.cols))
	k.rowBytes = int(rb)
	var err error
	for i := 0; i < nIn; i++ {
		if k.w[i], err = c.bytes(i, int64(k.rows[i])*rb); err != nil {
			return nil, err
		}
	}
	if k.x, err = c.f32(nIn, k.n*k.cols); err != nil {
		return nil, err
	}
	if k.form == formAcc {
		if k.res, err = c.f32(2, k.n*k.rows[0]); err != nil {
			return nil, err
		}
	}
	k.logits = c.d.Bindings[nOut].Buffer == plan.Logits
	for i := 0; nOut+i < len(c.d.Bindings); i++ {
		if k.out[i], err = c.f32(nOut+i, k.n*k.rows[i]); err != nil {
			return nil, err
		}
	}
	for i := 0; i < nIn; i++ {
		k.rowsDot[i], k.tokensDot[i] = multiDots(t, k.n, k.rows[i], k.cols)
	}
	c.p.scratchWorker(2 * span)
	if variant == "matmul" && k.takesHalfTiles(t) {
		k.halfTile = true
		c.p.scratchWorker(halfTileScratch)
	}
	var phases []phase
	switch t {
	case quant.F32:
	case quant.F16, quant.BF16:
		k.rounded = true
		c.p.scratchActF(k.n * k.cols)
		phases = append(phases, phase{units: k.n, grain: 1, fn: k.round(t)})
	default:
		k.actBytes = quant.ActivationBytes(t, k.cols)
		c.p.scratchAct(k.n * k.actBytes)
		phases = append(phases, phase{units: k.n, grain: 1, fn: k.quantize(t)})
	}
	units := k.rows[0]
	if k.form == formQKV {
		units += 2 * k.rows[1]
	}
	if k.tileable(t) {
		tp, err := k.tilePhases(c)
		return append(phases, tp...), err
	}
	switch variant {
	case "matvec":
		phases = append(phases, phase{units: units, grain: rowGrain, fn: k.matvec})
	case "mtmatvec":
		phases = append(phases, phase{units: units, grain: rowGrain, fn: k.mtmatvec})
	default:
		phases = append(phases, phase{units: units, grain: tileRows, fn: k.matmul})
	}
	return phases, nil
}

// quantizeActivation converts an activation row for weights of type t as
// ggml's AVX2 build does, for its AVX2 lane-order dots: Q8_0 with that
// build's rounding (quant.QuantizeQ8_0Lanes) for Q4_0 and Q8_0, Q8_K with
// its fused rounding (quant.QuantizeQ8_KLanes) for the K-quants.
func quantizeActivation(t quant.Type, x []float32, dst []byte) error {
	switch quant.VecDotType(t) {
	case quant.Q8_0:
		return quant.QuantizeQ8_0Lanes(x, dst)
	case quant.Q8_K:
		return quant.QuantizeQ8_KLanes(x, dst)
	}
	return quant.QuantizeActivation(t, x, dst)
}

// multiDots returns the multi-row and multi-token dots of a mat-vec of n
// tokens over rows × cols weights of type t: SIMD kernels that share the
// activation (or weight) loads where quant has them, and otherwise loops
// over the single dot, which for F16 and BF16 depends on the mat-vec's
// shape as in ggml.
func multiDots(t quant.Type, n, rows, cols int) (rowsDot, tokensDot multiDot) {
	switch t {
	case quant.Q4_0:
		return quantDots(quant.DotQ4_0Q8_0Rows, quant.DotQ4_0Q8_0Tokens, cols)
	case quant.Q8_0:
		return quantDots(quant.DotQ8_0Q8_0Rows, quant.DotQ8_0Q8_0Tokens, cols)
	case quant.Q4_K:
		return quantDots(quant.DotQ4_KQ8_KRows, quant.DotQ4_KQ8_KTokens, cols)
	case quant.Q5_K:
		return quantDots(quant.DotQ5_KQ8_KRows, quant.DotQ5_KQ8_KTokens, cols)
	case quant.Q6_K:
		return quantDots(quant.DotQ6_KQ8_KRows, quant.DotQ6_KQ8_KTokens, cols)
	}
	var one func(w, a []byte, x []float32) float32
	switch t {
	case quant.F16, quant.BF16:
		one = halfDotFunc(t, halfOrderFor(n, rows, cols))
	default:
		one = func(w, _ []byte, x []float32) float32 { return quant.DotF32F32(w, x) }
	}
	return loopDots(one, t, cols)
}

func quantDots(rows, tokens func(dst []float32, w, a []byte, n int), cols int) (multiDot, multiDot) {
	return func(dst []float32, w, a []byte, _ []float32) { rows(dst, w, a, cols) },
		func(dst []float32, w, a []byte, _ []float32) { tokens(dst, w, a, cols) }
}

// loopDots builds both multi-dots from one dot of a row with an activation
// row (quantised for quantised t, floats otherwise).
func loopDots(one func(w, a []byte, x []float32) float32, t quant.Type, cols int) (multiDot, multiDot) {
	rb, _ := quant.RowBytes(t, int64(cols))
	ab := quant.ActivationBytes(t, cols)
	rowsDot := func(dst []float32, w, a []byte, x []float32) {
		for r := range dst {
			dst[r] = one(w[r*int(rb):(r+1)*int(rb)], a, x)
		}
	}
	tokensDot := func(dst []float32, w, a []byte, x []float32) {
		for i := range dst {
			if ab > 0 {
				dst[i] = one(w, a[i*ab:(i+1)*ab], nil)
			} else {
				dst[i] = one(w, nil, x[i*cols:(i+1)*cols])
			}
		}
	}
	return rowsDot, tokensDot
}

func (k *matKernel) quantize(t quant.Type) task {
	return func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dst := k.p.act[i*k.actBytes : (i+1)*k.actBytes]
			if err := quantizeActivation(t, k.x[i*k.cols:(i+1)*k.cols], dst); err != nil {
				k.p.fail(err)
				return
			}
		}
	}
}

func (k *matKernel) round(t quant.Type) task {
	return func(_, lo, hi int) {
		dst, src := k.p.actF[lo*k.cols:hi*k.cols], k.x[lo*k.cols:hi*k.cols]
		if t == quant.F16 {
			for i, v := range src {
				dst[i] = quant.FP16ToFP32(quant.FP32ToFP16(v))
			}
			return
		}
		for i, v := range src {
			dst[i] = quant.BF16ToFP32(quant.FP32ToBF16(v))
		}
	}
}

// span is the most output rows (or tokens) one multi-dot call computes
// into per-worker scratch; it bounds that scratch.
const span = 64

// act returns the converted activation rows of tokens [i0, i1): quantised
// bytes, or floats (rounded for F16 and BF16 weights).
func (k *matKernel) act(i0, i1 int) ([]byte, []float32) {
	switch {
	case k.actBytes > 0:
		return k.p.act[i0*k.actBytes : i1*k.actBytes], nil
	case k.rounded:
		return nil, k.p.actF[i0*k.cols : i1*k.cols]
	}
	return nil, k.x[i0*k.cols : i1*k.cols]
}

// part maps output unit r of the concatenated outputs to its output and
// its row there (only qkv has more than one output per unit range).
func (k *matKernel) part(r int) (int, int) {
	if k.form != formQKV {
		return 0, r
	}
	part := 0
	for r >= k.rows[part] {
		r -= k.rows[part]
		part++
	}
	return part, r
}

// rowSpan computes output units [lo, hi) for token i, a span of rows at a
// time through the weight's multi-row dot.
func (k *matKernel) rowSpan(w, lo, hi, i int) {
	a, x := k.act(i, i+1)
	rb := k.rowBytes
	for lo < hi {
		part, r0 := k.part(lo)
		n := min(hi-lo, k.rows[part]-r0, span)
		r1 := r0 + n
		tmp := k.p.work(w, 2*span)
		g := tmp[:n]
		k.rowsDot[part](g, k.w[part][r0*rb:r1*rb], a, x)
		out := k.out[part][i*k.rows[part]+r0 : i*k.rows[part]+r1]
		switch k.form {
		case formAcc:
			// The residual may be the output itself, so it is added only
			// after the dots are done.
			res := k.res[i*k.rows[0]+r0 : i*k.rows[0]+r1]
			for j, v := range g {
				out[j] = v + res[j]
			}
		case formGateUp:
			u := tmp[span : span+n]
			k.rowsDot[1](u, k.w[1][r0*rb:r1*rb], a, x)
			fvec.SiLUMul(out, g, u) // r0 is a multiple of 8: ggml's blocks

		default:
			copy(out, g)
		}
		lo += n
	}
}

// siluMulAt sets g[j] = silu(g[j])·u[j] for values that all sit at index
// r of gate rows of length rows, as fvec.SiLUMul computes a whole row:
// with ggml's vector silu, or its scalar one in the row's last partial
// block of 8. g and u have room for a multiple of 8 values (span).
func siluMulAt(r, rows int, g, u []float32) {
	if r >= rows&^7 {
		for j := range g {
			fvec.SiLUMul(g[j:j+1], g[j:j+1], u[j:j+1])
		}
		return
	}
	n := (len(g) + 7) &^ 7
	clear(g[len(g):n])
	clear(u[len(u):n])
	fvec.SiLUMul(g[:n], g[:n], u[:n])
}

// tokenSpan computes output unit r for tokens [i0, i1) (at most span),
// reading the weight row once through the weight's multi-token dot.
func (k *matKernel) tokenSpan(w, r, i0, i1 int) {
	a, x := k.act(i0, i1)
	part, r := k.part(r)
	rb := k.rowBytes
	tmp := k.p.work(w, 2*span)
	g := tmp[:i1-i0]
	k.tokensDot[part](g, k.w[part][r*rb:(r+1)*rb], a, x)
	var u []float32
	if k.form == formGateUp {
		u = tmp[span : span+len(g)]
		k.tokensDot[1](u, k.w[1][r*rb:(r+1)*rb], a, x)
	}
	k.finishRow(part, r, i0, g, u)
}

// finishRow stores the dots g of row r of output part with tokens i0 on
// (and u, the up projection's, for gate_up) in the form's way. g and u
// have room for a multiple of 8 values (see siluMulAt).
func (k *matKernel) finishRow(part, r, i0 int, g, u []float32) {
	rows, out := k.rows[part], k.out[part]
	switch k.form {
	case formAcc:
		for j, v := range g {
			o := (i0+j)*rows + r
			out[o] = v + k.res[o]
		}
	case formGateUp:
		siluMulAt(r, rows, g, u)
		for j, v := range g {
			out[(i0+j)*rows+r] = v
		}
	default:
		for j, v := range g {
			out[(i0+j)*rows+r] = v
		}
	}
}

func (k *matKernel) matvec(w, lo, hi int) {
	for i := k.first(); i < k.n; i++ {
		k.rowSpan(w, lo, hi, i)
	}
}

func (k *matKernel) mtmatvec(w, lo, hi int) {
	for r := lo; r < hi; r++ {
		for i0 := k.first(); i0 < k.n; i0 += span {
			k.tokenSpan(w, r, i0, min(i0+span, k.n))
		}
	}
}

func (k *matKernel) matmul(w, lo, hi int) {
	for r0 := lo; r0 < hi; r0 += tileRows {
		r1 := min(r0+tileRows, hi)
		for i0 := k.first(); i0 < k.n; i0 += tileTokens {
			i1 := min(i0+tileTokens, k.n)
			r := r0
			if k.halfTile {
				r = k.halfTileSpan(w, r0, r1, i0, i1)
			}
			for ; r < r1; r++ {
				k.tokenSpan(w, r, i0, i1)
			}
		}
	}
}
