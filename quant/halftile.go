package quant

// HalfTileRows and HalfTileTokens are the shape of DotHalfTinyBLASTile.
const (
	HalfTileRows   = 4
	HalfTileTokens = 8
)

// halfTileKernel leaves the 8-lane tinyBLAS accumulator of weight row
// w[r] with activation row x[t] over steps of 8 elements in lanes
// 8(r%2) .. 8(r%2)+7 of acc[t][r/2].
type halfTileKernel func(w *[HalfTileRows]*byte, x *[HalfTileTokens]*float32, steps int, acc *[HalfTileTokens][HalfTileRows / 2][16]float32)

// DotHalfTinyBLASTile sets dst[r][t] to the tinyBLAS dot of weight row
// w[r] (F16 or BF16, t) with activation row x[t], the same bits as
// DotF16TinyBLAS or DotBF16TinyBLAS give pair by pair: the tile kernel
// keeps every pair's accumulator apart while each converted weight step
// serves eight tokens and each activation step four rows, where the CPU
// has one (AVX-512); elsewhere it loops over the pairs. Every row and
// activation row has the same length, a positive multiple of 8.
func DotHalfTinyBLASTile(typ Type, dst *[HalfTileRows][HalfTileTokens]float32, w *[HalfTileRows][]byte, x *[HalfTileTokens][]float32) {
	pair := DotF16TinyBLAS
	kernel := halfTiles.f16
	if typ == BF16 {
		pair, kernel = DotBF16TinyBLAS, halfTiles.bf16
	}
	cols := len(x[0])
	if kernel == nil || cols == 0 || cols%8 != 0 {
		for r := range w {
			for t := range x {
				dst[r][t] = pair(w[r], x[t])
			}
		}
		return
	}
	var wp [HalfTileRows]*byte
	var xp [HalfTileTokens]*float32
	for r := range w {
		checkFloatDot(typ, w[r], x[0])
		wp[r] = &w[r][0]
	}
	for t := range x {
		if len(x[t]) != cols {
			panic("quant: tinyBLAS tile of activation rows of different lengths")
		}
		xp[t] = &x[t][0]
	}
	var acc [HalfTileTokens][HalfTileRows / 2][16]float32
	kernel(&wp, &xp, cols/8, &acc)
	for t := range x {
		for r := range w {
			dst[r][t] = hsum8((*[8]float32)(acc[t][r/2][8*(r%2):]))
		}
	}
}
