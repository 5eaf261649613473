//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// roundExactProductsAVX2 is roundExactProducts for n floats, n a positive
// multiple of 16.
//
//go:noescape
func roundExactProductsAVX2(x *float32, qs *byte, iscale float32, n int)

func init() {
	if cpu.X86.HasAVX2 {
		exactRounder = func(x []float32, iscale float32, qs []byte) {
			roundExactProductsAVX2(&x[0], &qs[0], iscale, len(x))
		}
	}
}
