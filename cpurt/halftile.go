package cpurt

import "github.com/metalgraph/metalgraph/quant"

// The matmul variant of F16 and BF16 weights in tinyBLAS order (ggml's
// for two or more tokens) takes its tiles four rows by eight tokens at a
// time (quant.DotHalfTinyBLASTile), so each converted weight step serves
// eight tokens and each activation step four rows; every pair keeps its
// own accumulator, so the outputs are the bits of the pair-by-pair dots.
// Rows and tokens left over past whole tiles go pair by pair.

// halfTileScratch is the worker scratch the tiles need: the dots of one
// tile of rows (and of the up rows), then one row's copy of each for
// finishRow, which may write past a row's dots.
const halfTileScratch = 4 * span

// takesHalfTiles reports whether the matmul of weights t takes half tiles:
// F16 or BF16 in tinyBLAS order for every weight, whose row counts are
// then multiples of 4. (A tile of rows' dots, HalfTileRows × tileTokens,
// fits in a span of scratch.)
func (k *matKernel) takesHalfTiles(t quant.Type) bool {
	if t != quant.F16 && t != quant.BF16 {
		return false
	}
	for _, rows := range k.rows {
		if rows > 0 && halfOrderFor(k.n, rows, k.cols) != orderTinyBLAS {
			return false
		}
	}
	return true
}

// halfTileSpan computes output units from r0 for tokens [i0, i1) four
// rows of one output part at a time, and returns the first row it left
// for tokenSpan (a group that would cross parts, or past r1).
func (k *matKernel) halfTileSpan(w, r0, r1, i0, i1 int) int {
	_, x := k.act(i0, i1)
	nt := i1 - i0
	tmp := k.p.work(w, halfTileScratch)
	gates, ups := tmp[:span], tmp[span:2*span]
	g, u := tmp[2*span:3*span], tmp[3*span:]
	r := r0
	for ; r+quant.HalfTileRows <= r1; r += quant.HalfTileRows {
		part, pr := k.part(r)
		if pr+quant.HalfTileRows > k.rows[part] {
			break
		}
		k.halfTileDots(part, pr, x, nt, gates)
		if k.form == formGateUp {
			k.halfTileDots(1, pr, x, nt, ups)
		}
		for j := range quant.HalfTileRows {
			copy(g, gates[j*nt:(j+1)*nt])
			var uj []float32
			if k.form == formGateUp {
				copy(u, ups[j*nt:(j+1)*nt])
				uj = u[:nt]
			}
			k.finishRow(part, pr+j, i0, g[:nt], uj)
		}
	}
	return r
}

// halfTileDots sets dst[j·nt+i] to the dot of row pr+j of weight part
// with token i of x (nt tokens), for j below quant.HalfTileRows.
func (k *matKernel) halfTileDots(part, pr int, x []float32, nt int, dst []float32) {
	rb, cols := k.rowBytes, k.cols
	var rows [quant.HalfTileRows][]byte
	for j := range rows {
		rows[j] = k.w[part][(pr+j)*rb : (pr+j+1)*rb]
	}
	i := 0
	for ; i+quant.HalfTileTokens <= nt; i += quant.HalfTileTokens {
		var toks [quant.HalfTileTokens][]float32
		for t := range toks {
			toks[t] = x[(i+t)*cols : (i+t+1)*cols]
		}
		var d [quant.HalfTileRows][quant.HalfTileTokens]float32
		quant.DotHalfTinyBLASTile(k.weight, &d, &rows, &toks)
		for j := range rows {
			copy(dst[j*nt+i:], d[j][:])
		}
	}
	pair := quant.DotF16TinyBLAS
	if k.weight == quant.BF16 {
		pair = quant.DotBF16TinyBLAS
	}
	for ; i < nt; i++ {
		for j := range rows {
			dst[j*nt+i] = pair(rows[j], x[i*cols:(i+1)*cols])
		}
	}
}
