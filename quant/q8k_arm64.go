//go:build !purego

package quant

// roundExactProductsNEON is roundExactProducts for n floats, n a positive
// multiple of 16. Its float64 and narrowing instructions are base NEON, so
// every arm64 CPU runs it.
//
//go:noescape
func roundExactProductsNEON(x *float32, qs *byte, iscale float32, n int)

func init() {
	exactRounder = func(x []float32, iscale float32, qs []byte) {
		roundExactProductsNEON(&x[0], &qs[0], iscale, len(x))
	}
}
