package metalrt

import (
	"math"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

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
