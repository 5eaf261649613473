package cpurt

import (
	"fmt"
	"math"

	"github.com/metalgraph/metalgraph/internal/fvec"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// builder compiles one dispatch of a family into its phases.
type builder func(c *compiler) ([]phase, error)

// families maps every contract family to its builder; typed families read
// the weight or cache type from the contract.
var families = func() map[string]builder {
	m := map[string]builder{
		"embed":         buildEmbed,
		"rmsnorm":       buildRMSNorm,
		"swiglu":        buildSwiGLU,
		"add":           buildAdd,
		"rope":          buildRope,
		"kv_write":      buildKVWrite,
		"rope_kv_write": buildRopeKVWrite,
		"attn_decode":   buildAttention,
		"attn_prefill":  buildAttention,
	}
	for _, v := range []string{"matvec", "mtmatvec", "matmul"} {
		for _, form := range []string{"", "@acc", "@qkv", "@gate_up"} {
			m[v+form] = buildMat
		}
	}
	return m
}()

// kernels maps contract names to builders: every contract of a family
// this runtime implements.
var kernels = func() map[string]builder {
	m := map[string]builder{}
	for _, c := range plan.Contracts() {
		if b, ok := families[c.Family]; ok {
			m[c.Name] = b
		}
	}
	return m
}()

// Supports reports whether the CPU runtime has a kernel for a contract.
func Supports(contract string) bool {
	_, ok := kernels[contract]
	return ok
}

// Elementwise phases split into chunks of at least this many values.
const eltGrain = 4096

func buildEmbed(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.EmbedParams)
	if err := c.positive("Dim, Vocab, N", pr.Dim, pr.Vocab, pr.N); err != nil {
		return nil, err
	}
	t, dim, vocab := c.c.Weight, int(pr.Dim), int(pr.Vocab)
	rb, err := quant.RowBytes(t, int64(dim))
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	table, err := c.bytes(0, int64(vocab)*rb)
	if err != nil {
		return nil, err
	}
	tok, err := c.i32(1, int(pr.N))
	if err != nil {
		return nil, err
	}
	out, err := c.f32(2, int(pr.N)*dim)
	if err != nil {
		return nil, err
	}
	p := c.p
	p.limitVocab(vocab)
	row := int(rb)
	return []phase{{units: int(pr.N), grain: 1, fn: func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			id := int(tok[i])
			if id < 0 || id >= vocab {
				p.fail(fmt.Errorf("token %d has id %d, outside the %d-row table", i, id, vocab))
				return
			}
			if err := quant.DequantizeRow(t, table[id*row:(id+1)*row], out[i*dim:(i+1)*dim]); err != nil {
				p.fail(err)
				return
			}
		}
	}}}, nil
}

// buildRMSNorm: out = x · 1/sqrt(mean(x²) + eps) · w per row, with ggml's
// roundings: the sum of squares in float64, the mean and scale in float32,
// then the scaled row times the weight.
func buildRMSNorm(c *compiler) ([]phase, error) {
	pr := c.d.Params.(plan.NormParams)
	if err := c.positive("Dim, N", pr.Dim, pr.N); err != nil {
		return nil, err
	}
	dim, n, eps := int(pr.Dim), int(pr.N), pr.Eps
	x, err := c.f32(0, n*dim)
	if err != nil {
		return nil, err
	}
	wt, err := c.f32(1, dim)
	if err != nil {
		return nil, err
	}
	out, err := c.f32(2, n*dim)
	if err != nil {
		return nil, err
	}
	return []phase{{units: n, grain: 1, fn: func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row, dst := x[i*dim:(i+1)*dim], out[i*dim:(i+1)*dim]
			mean := float32(fvec.SumSq(row) / float64(dim))
			scale := 1 / float32(math.Sqrt(float64(mean+eps)))
			fvec.Scale(dst, row, scale)
			fvec.Mul(dst, dst, wt)
		}
	}}}, nil
}

// elementwise builds out[i] = f(a[i], b[i]); out may alias a or b. Chunks
// start at multiples of 8 so that f's blocks of 8 fall where ggml's do
// (from the start of each row, for rows of a multiple of 8).
func elementwise(c *compiler, f func(a, b []float32, out []float32)) ([]phase, error) {
	pr := c.d.Params.(plan.EltParams)
	if err := c.positive("Count", pr.Count); err != nil {
		return nil, err
	}
	n := int(pr.Count)
	a, err := c.f32(0, n)
	if err != nil {
		return nil, err
	}
	b, err := c.f32(1, n)
	if err != nil {
		return nil, err
	}
	out, err := c.f32(2, n)
	if err != nil {
		return nil, err
	}
	return []phase{{units: (n + 7) / 8, grain: eltGrain / 8, fn: func(_, lo, hi int) {
		lo, hi = 8*lo, min(8*hi, n)
		f(a[lo:hi], b[lo:hi], out[lo:hi])
	}}}, nil
}

// buildSwiGLU is ggml's silu (ggml_v_silu, x/(1+e^-x) with its vector exp)
// followed by its mul, in float32.
func buildSwiGLU(c *compiler) ([]phase, error) {
	return elementwise(c, func(g, u, out []float32) { fvec.SiLUMul(out, g, u) })
}

func buildAdd(c *compiler) ([]phase, error) {
	return elementwise(c, func(a, b, out []float32) { fvec.Add(out, a, b) })
}
