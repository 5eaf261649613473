//go:build (!amd64 && !arm64) || purego

package fvec

// bestKernels: no assembly for this architecture (or a purego build).
func bestKernels() kernelSet { return goKernels }
