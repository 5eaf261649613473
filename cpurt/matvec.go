package cpurt

import (
	"strings"

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
	actBytes int                                       // quantised bytes per token; 0 for float weights
	rounded  bool                                      // float weights whose activations are rounded (F16, BF16)
	dot      [3]func(w, a []byte, x []float32) float32 // per weight
}

func buildMat(c *compiler) ([]phase, error) {
	variant, formName, _ := strings.Cut(c.c.Family, "@")
	k := &matKernel{p: c.p, form: map[string]matForm{"": formPlain, "acc": formAcc, "qkv": formQKV, "gate_up": formGateUp}[formName]}
	t := c.c.Weight
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
	for i := 0; nOut+i < len(c.d.Bindings); i++ {
		if k.out[i], err = c.f32(nOut+i, k.n*k.rows[i]); err != nil {
			return nil, err
		}
	}
	for i := 0; i < nIn; i++ {
		k.dot[i] = dotFunc(t, k.cols)
		if t == quant.F16 || t == quant.BF16 {
			k.dot[i] = halfDotFunc(t, halfOrderFor(k.n, k.rows[i], k.cols))
		}
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
// ggml's AVX2 build does: Q8_0 with its rounding (quant.QuantizeQ8_0Lanes)
// for Q4_0 and Q8_0, whose dots are the AVX2 lane-order ones; Q8_K as
// ggml's reference code for the K-quants.
func quantizeActivation(t quant.Type, x []float32, dst []byte) error {
	if quant.VecDotType(t) == quant.Q8_0 {
		return quant.QuantizeQ8_0Lanes(x, dst)
	}
	return quant.QuantizeActivation(t, x, dst)
}

// dotFunc returns the dot product of a weight row with a converted
// activation row: a quantised, or x for F32 (F16 and BF16 have
// halfDotFunc).
func dotFunc(t quant.Type, n int) func(w, a []byte, x []float32) float32 {
	switch t {
	case quant.Q4_0:
		return func(w, a []byte, _ []float32) float32 { return quant.DotQ4_0Q8_0Lanes(w, a, n) }
	case quant.Q8_0:
		return func(w, a []byte, _ []float32) float32 { return quant.DotQ8_0Q8_0Lanes(w, a, n) }
	case quant.Q4_K:
		return func(w, a []byte, _ []float32) float32 { return quant.DotQ4_KQ8_K(w, a, n) }
	case quant.Q5_K:
		return func(w, a []byte, _ []float32) float32 { return quant.DotQ5_KQ8_K(w, a, n) }
	case quant.Q6_K:
		return func(w, a []byte, _ []float32) float32 { return quant.DotQ6_KQ8_K(w, a, n) }
	}
	return func(w, _ []byte, x []float32) float32 { return quant.DotF32F32(w, x) }
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

// cell computes output unit r (a row of the concatenated outputs) for
// token i.
func (k *matKernel) cell(r, i int) {
	var a []byte
	var x []float32
	switch {
	case k.actBytes > 0:
		a = k.p.act[i*k.actBytes : (i+1)*k.actBytes]
	case k.rounded:
		x = k.p.actF[i*k.cols : (i+1)*k.cols]
	default:
		x = k.x[i*k.cols : (i+1)*k.cols]
	}
	rb := k.rowBytes
	switch k.form {
	case formPlain:
		k.out[0][i*k.rows[0]+r] = k.dot[0](k.w[0][r*rb:(r+1)*rb], a, x)
	case formAcc:
		o := i*k.rows[0] + r
		k.out[0][o] = k.dot[0](k.w[0][r*rb:(r+1)*rb], a, x) + k.res[o]
	case formGateUp:
		g := k.dot[0](k.w[0][r*rb:(r+1)*rb], a, x)
		u := k.dot[1](k.w[1][r*rb:(r+1)*rb], a, x)
		k.out[0][i*k.rows[0]+r] = silu(g) * u
	case formQKV:
		part := 0
		for r >= k.rows[part] {
			r -= k.rows[part]
			part++
		}
		k.out[part][i*k.rows[part]+r] = k.dot[part](k.w[part][r*rb:(r+1)*rb], a, x)
	}
}

func (k *matKernel) matvec(_, lo, hi int) {
	for i := 0; i < k.n; i++ {
		for r := lo; r < hi; r++ {
			k.cell(r, i)
		}
	}
}

func (k *matKernel) mtmatvec(_, lo, hi int) {
	for r := lo; r < hi; r++ {
		for i := 0; i < k.n; i++ {
			k.cell(r, i)
		}
	}
}

func (k *matKernel) matmul(_, lo, hi int) {
	for r0 := lo; r0 < hi; r0 += tileRows {
		r1 := min(r0+tileRows, hi)
		for i0 := 0; i0 < k.n; i0 += tileTokens {
			i1 := min(i0+tileTokens, k.n)
			for r := r0; r < r1; r++ {
				for i := i0; i < i1; i++ {
					k.cell(r, i)
				}
			}
		}
	}
}
