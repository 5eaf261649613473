package opcases

import (
	"fmt"
	"math"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// All builds a case for every contract: mat-vec families with every
// weight type at token counts their variant serves (tails of rows, tiles
// and token tiles included), and the other families at model-like sizes.
// All cases share the returned weights buffer.
func All() (cases []Case, weights []byte) {
	w := &Weights{}
	add := func(c Case) { cases = append(cases, c) }
	for _, t := range plan.WeightTypes {
		for _, c := range matCases(w, t) {
			add(c)
		}
		b := New(w, "embed_"+strings.ToLower(t.String()), 5)
		b.Input("table", t, 40*512, 512, 1, 0)
		b.Tokens(40)
		b.Output("out", quant.F32, 5*512)
		add(b.Done(plan.Name("embed", t), plan.EmbedParams{Dim: 512, Vocab: 40, N: 5}, plan.Grid{512, 5, 1}, NMSEFloat))
	}
	for _, c := range []struct{ dim, n int }{{4096, 2}, {64, 3}, {100, 1}} {
		b := New(w, fmt.Sprintf("rmsnorm/dim=%d/n=%d", c.dim, c.n), c.n)
		b.Input("x", quant.F32, c.n*c.dim, c.dim, 1, 0)
		b.Input("weight", quant.F32, c.dim, c.dim, 0.1, 1)
		b.Output("out", quant.F32, c.n*c.dim)
		add(b.Done("rmsnorm", plan.NormParams{Dim: int32(c.dim), N: int32(c.n), Eps: 1e-5}, plan.Grid{c.n, 1, 1}, NMSEFloat))
	}
	for _, dims := range []int{128, 64} {
		const heads, hd, n = 8, 128, 3
		b := New(w, fmt.Sprintf("rope/dims=%d", dims), n)
		b.Step()
		b.Input("x", quant.F32, n*heads*hd, heads*hd, 1, 0)
		b.Output("out", quant.F32, n*heads*hd)
		c := b.Done("rope", plan.RopeParams{Heads: heads, HeadDim: hd, Dims: int32(dims), N: n, Base: 10000, FreqScale: 1}, plan.Grid{heads, n, 1}, NMSEFloat)
		c.Pos0 = 5
		add(c)
	}
	for _, ct := range plan.CacheTypes {
		add(kvWriteCase(w, ct))
	}
	for _, ct := range plan.CacheTypes {
		// q and k of a GQA model roped, k and v stored.
		add(RopeKVWrite(w, plan.Name("rope_kv_write", ct), ct, AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 16}, 128, 3, 7, 1e6))
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
			// GQA 8/2, head dim 128, 320 positions.
			name := fmt.Sprintf("%s/n=%d/pos0=%d/window=%d", plan.Name(a.family, ct), a.n, a.pos0, a.window)
			add(Attn(w, name, a.family, ct, AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 320}, a.n, a.pos0, a.window))
		}
	}
	for _, fam := range []string{"swiglu", "add"} {
		const count = 1000
		b := New(w, fam, 1)
		b.Input("a", quant.F32, count, count, 1, 0)
		b.Input("b", quant.F32, count, count, 1, 0)
		b.Output("out", quant.F32, count)
		add(b.Done(fam, plan.EltParams{Count: count}, plan.Grid{count, 1, 1}, NMSEFloat))
	}
	return cases, w.Finish(cases)
}

// matCases covers the mat-vec families of one weight type.
func matCases(w *Weights, t quant.Type) []Case {
	const cols = 512 // whole K-quant super-blocks
	var out []Case
	for _, v := range []struct {
		variant string
		rows    int // not a multiple of the rows per threadgroup or tile
		ns      []int
	}{{"matvec", 72, []int{1, 3}}, {"mtmatvec", 72, []int{2, 8}}, {"matmul", 136, []int{37}}} {
		for _, form := range []string{"", "@acc", "@qkv", "@gate_up"} {
			for _, n := range v.ns {
				fam := v.variant + form
				out = append(out, Mat(w, fmt.Sprintf("%s/n=%d", plan.Name(fam, t), n), fam, t, v.rows, cols, n))
			}
		}
	}
	return out
}

// kvWriteCase stores 3 rows of a width with a tail of 256 threads.
func kvWriteCase(w *Weights, ct quant.Type) Case {
	const width, n, capacity = 300, 3, 8
	b := New(w, plan.Name("kv_write", ct), n)
	b.Step()
	b.Input("k", quant.F32, n*width, width, 1, 0)
	b.Input("v", quant.F32, n*width, width, 1, 0)
	b.Output("k_cache", ct, capacity*width)
	b.Output("v_cache", ct, capacity*width)
	c := b.Done(plan.Name("kv_write", ct), plan.KVParams{Width: width, N: n, Capacity: capacity}, plan.Grid{width, n, 1}, CacheNMSE(ct))
	c.Pos0 = 2
	return c
}

// Mat is a case of mat-vec family fam (e.g. "mtmatvec@qkv") over weights
// of type t: rows × cols, n tokens. The qkv form splits rows into
// rows − rows/4 of Wq and rows/8 each of Wk and Wv.
func Mat(w *Weights, name, fam string, t quant.Type, rows, cols, n int) Case {
	b := New(w, name, n)
	_, form, _ := strings.Cut(fam, "@")
	switch form {
	case "qkv":
		rq, rkv := rows-rows/4, rows/8
		b.Input("wq", t, rq*cols, cols, 1, 0)
		b.Input("wk", t, rkv*cols, cols, 1, 0)
		b.Input("wv", t, rkv*cols, cols, 1, 0)
		b.Input("x", quant.F32, n*cols, cols, 1, 0)
		b.Output("q", quant.F32, n*rq)
		b.Output("k", quant.F32, n*rkv)
		b.Output("v", quant.F32, n*rkv)
		return b.Done(plan.Name(fam, t), plan.QKVParams{RowsQ: int32(rq), RowsKV: int32(rkv), Cols: int32(cols), N: int32(n)},
			plan.Grid{rq + 2*rkv, n, 1}, matTolerance(t))
	}
	switch form {
	case "gate_up":
		b.Input("w_gate", t, rows*cols, cols, 1, 0)
		b.Input("w_up", t, rows*cols, cols, 1, 0)
		b.Input("x", quant.F32, n*cols, cols, 0.1, 0) // keep silu out of saturation
	default:
		b.Input("weight", t, rows*cols, cols, 1, 0)
		b.Input("x", quant.F32, n*cols, cols, 1, 0)
	}
	if form == "acc" {
		b.Input("residual", quant.F32, n*rows, rows, 10, 0)
	}
	b.Output("y", quant.F32, n*rows)
	return b.Done(plan.Name(fam, t), plan.MatParams{Rows: int32(rows), Cols: int32(cols), N: int32(n)},
		plan.Grid{rows, n, 1}, matTolerance(t))
}

// AttnShape is the attention geometry of a case.
type AttnShape struct{ Heads, KVHeads, HeadDim, Capacity int }

// Attn attends n queries at pos0.. over random caches of shape s.
func Attn(w *Weights, name, family string, ct quant.Type, s AttnShape, n, pos0, window int) Case {
	b := New(w, name, n)
	b.Step()
	b.Input("q", quant.F32, n*s.Heads*s.HeadDim, s.Heads*s.HeadDim, 1, 0)
	b.Input("k_cache", ct, s.Capacity*s.KVHeads*s.HeadDim, s.KVHeads*s.HeadDim, 1, 0)
	b.Input("v_cache", ct, s.Capacity*s.KVHeads*s.HeadDim, s.KVHeads*s.HeadDim, 1, 0)
	b.Output("out", quant.F32, n*s.Heads*s.HeadDim)
	c := b.Done(plan.Name(family, ct), plan.AttnParams{Heads: int32(s.Heads), KVHeads: int32(s.KVHeads), HeadDim: int32(s.HeadDim),
		N: int32(n), Capacity: int32(s.Capacity), Window: int32(window), Scale: float32(1 / math.Sqrt(float64(s.HeadDim)))},
		plan.Grid{s.Heads, n, 1}, CacheNMSE(ct))
	c.Pos0 = pos0
	return c
}

// RopeKVWrite ropes the first dims of each head of n tokens' q and k at
// pos0.. and stores k and v into caches of shape s.
func RopeKVWrite(w *Weights, name string, ct quant.Type, s AttnShape, dims, n, pos0 int, base float32) Case {
	b := New(w, name, n)
	b.Step()
	b.Input("q", quant.F32, n*s.Heads*s.HeadDim, s.Heads*s.HeadDim, 1, 0)
	b.Input("k", quant.F32, n*s.KVHeads*s.HeadDim, s.KVHeads*s.HeadDim, 1, 0)
	b.Input("v", quant.F32, n*s.KVHeads*s.HeadDim, s.KVHeads*s.HeadDim, 1, 0)
	b.Output("q_out", quant.F32, n*s.Heads*s.HeadDim)
	b.Output("k_cache", ct, s.Capacity*s.KVHeads*s.HeadDim)
	b.Output("v_cache", ct, s.Capacity*s.KVHeads*s.HeadDim)
	c := b.Done(plan.Name("rope_kv_write", ct), plan.RopeKVParams{Heads: int32(s.Heads), KVHeads: int32(s.KVHeads), HeadDim: int32(s.HeadDim),
		Dims: int32(dims), N: int32(n), Capacity: int32(s.Capacity), Base: base, FreqScale: 1}, plan.Grid{s.Heads, n, 1}, CacheNMSE(ct))
	c.Pos0 = pos0
	return c
}
