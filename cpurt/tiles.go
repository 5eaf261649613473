package cpurt

import (
	"github.com/metalgraph/metalgraph/internal/fvec"
	"github.com/metalgraph/metalgraph/quant"
)

// The tiled mat-mat of Q4_0 weights runs on quant's tile kernel: each
// worker packs eight weight rows at a time (a few kilobytes, once for all
// the step's tokens) and multiplies them with four tokens per call, which
// is about twice the arithmetic rate of the lane-order dots. Its order is
// that of ggml's repacked Q4_0 kernels, so a prefill's logits differ from
// decoding the same tokens one by one in the last bits (see quant/tile.go);
// the mat-vec and multi-token mat-vec keep the lane order, so speculative
// verification sees exactly what decoding sees.

// tileable reports whether the mat-mat can use tiles: Q4_0 weights whose
// every output has whole tiles of rows.
func (k *matKernel) tileable(t quant.Type) bool {
	if t != quant.Q4_0 {
		return false
	}
	for _, r := range k.rows {
		if r%quant.TileRows != 0 {
			return false
		}
	}
	return true
}

// tilePhases are the phases after quantisation: the tile kernel's
// per-token block sums, then the tiles. Row chunks are whole tiles because
// the pool hands out whole grains.
func (k *matKernel) tilePhases() []phase {
	sumBytes := quant.TileActivationBytes(k.cols)
	k.p.scratchTileAct(k.n * sumBytes)
	k.p.scratchBytes(2 * quant.TileBytes(k.cols)) // gate_up packs two
	units := k.rows[0]
	if k.form == formQKV {
		units += 2 * k.rows[1]
	}
	k.tileState = make([]tileState, k.p.rt.pool.workers)
	prepare := func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			quant.PrepareTileActivation(k.p.tileAct[i*sumBytes:(i+1)*sumBytes], k.p.act[i*k.actBytes:(i+1)*k.actBytes], k.cols)
		}
	}
	return []phase{
		{units: k.n, grain: 1, fn: prepare},
		{units: units, grain: 2 * quant.TileRows, fn: k.tiled},
	}
}

// tileState is one worker's arguments and results of the tile kernel,
// kept with the kernel so that a step allocates nothing.
type tileState struct {
	acts, sums [4][]byte
	g, u       [4][quant.TileRows]float32
}

// tiled computes output units [lo, hi), whole tiles, for every token.
func (k *matKernel) tiled(w, lo, hi int) {
	const rows = quant.TileRows
	tb, sb, rb := quant.TileBytes(k.cols), quant.TileActivationBytes(k.cols), k.rowBytes
	scratch := k.p.workBytes(w, 2*tb)
	st := &k.tileState[w]
	acts, sums, g, u := &st.acts, &st.sums, &st.g, &st.u
	for r := lo; r < hi; r += rows {
		part, r0 := k.part(r)
		tile := scratch[:tb]
		quant.PackQ4_0Tile(tile, k.w[part][r0*rb:(r0+rows)*rb], k.cols)
		if k.form == formGateUp {
			quant.PackQ4_0Tile(scratch[tb:], k.w[1][r0*rb:(r0+rows)*rb], k.cols)
		}
		for i0 := k.first(); i0 < k.n; i0 += 4 {
			tokens := min(4, k.n-i0)
			for t := range 4 {
				i := i0 + min(t, tokens-1) // a short group repeats its last token
				acts[t] = k.p.act[i*k.actBytes : (i+1)*k.actBytes]
				sums[t] = k.p.tileAct[i*sb : (i+1)*sb]
			}
			quant.DotQ4_0Tile(g, tile, acts, sums, k.cols)
			if k.form == formGateUp {
				quant.DotQ4_0Tile(u, scratch[tb:], acts, sums, k.cols)
			}
			out, stride := k.out[part], k.rows[part]
			for t := range tokens {
				o := (i0+t)*stride + r0
				switch k.form {
				case formAcc:
					for j, v := range g[t] {
						out[o+j] = v + k.res[o+j]
					}
				case formGateUp:
					fvec.SiLUMul(out[o:o+rows], g[t][:], u[t][:])
				default:
					copy(out[o:o+rows], g[t][:])
				}
			}
		}
	}
}
