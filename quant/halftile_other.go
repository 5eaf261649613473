//go:build !amd64 || purego

package quant

// halfTiles: no tile kernels here; DotHalfTinyBLASTile loops over the pairs.
var halfTiles struct{ f16, bf16 halfTileKernel }
