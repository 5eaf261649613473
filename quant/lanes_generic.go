//go:build !(amd64 || arm64) || purego

package quant

// bestKernels: no SIMD kernels for this architecture (or a purego build).
func bestKernels() laneKernels { return goKernels }
