//go:build (amd64 || arm64) && !purego

package quant

// asmKDot wraps the one-row, four-row and four-token assembly kernels of a
// K-quant type; nb is the number of super-blocks.
func asmKDot(one func(w, a *byte, nb int) float32,
	rows4 func(dst *[4]float32, w *byte, stride int, a *byte, nb int),
	tokens4 func(dst *[4]float32, w, a *byte, stride int, nb int)) laneDot {
	return laneDot{
		one: func(w, a []byte) float32 { return one(&w[0], &a[0], len(a)/292) },
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			rows4(dst, &w[0], stride, &a[0], len(a)/292)
		},
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			tokens4(dst, &w[0], &a[0], stride, stride/292)
		},
	}
}
