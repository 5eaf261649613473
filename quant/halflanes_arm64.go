//go:build !purego

package quant

// The NEON kernels of halflanes_arm64.s, on every arm64 CPU (FCVTL is
// base NEON). w and x come from the checked slices of the wrappers; steps
// (of 32 elements for vec, 8 for tinyBLAS) is at least 1.

//go:noescape
func f16VecNEON(w *byte, x *float32, steps int) float32

//go:noescape
func bf16VecNEON(w *byte, x *float32, steps int) float32

//go:noescape
func f16TinyNEON(w *byte, x *float32, steps int) float32

//go:noescape
func bf16TinyNEON(w *byte, x *float32, steps int) float32

var neonHalfKernels = halfKernels{
	f16Vec:   neonHalf(f16VecNEON, 32),
	bf16Vec:  neonHalf(bf16VecNEON, 32),
	f16Tiny:  neonHalf(f16TinyNEON, 8),
	bf16Tiny: neonHalf(bf16TinyNEON, 8),
}

func neonHalf(k func(w *byte, x *float32, steps int) float32, step int) func(w []byte, x []float32) float32 {
	return func(w []byte, x []float32) float32 { return k(&w[0], &x[0], len(x)/step) }
}
