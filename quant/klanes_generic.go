//go:build (!amd64 && !arm64) || purego

package quant

// bestKLaneKernels: no SIMD kernels for this architecture (or a purego build).
func bestKLaneKernels() kLaneKernels { return goKLaneKernels }
