//go:build !purego

package quant

import "golang.org/x/sys/cpu"

//go:noescape
func f16Tile4x8AVX512(w *[HalfTileRows]*byte, x *[HalfTileTokens]*float32, steps int, acc *[HalfTileTokens][HalfTileRows / 2][16]float32)

//go:noescape
func bf16Tile4x8AVX512(w *[HalfTileRows]*byte, x *[HalfTileTokens]*float32, steps int, acc *[HalfTileTokens][HalfTileRows / 2][16]float32)

// halfTiles are the tile kernels of halftile_amd64.s where the CPU has
// AVX-512 F, BW, DQ (VBROADCASTF32X8, VINSERTF32X8) and VL (EVEX forms of
// the 256-bit conversions), else none.
var halfTiles = pickHalfTiles()

func pickHalfTiles() struct{ f16, bf16 halfTileKernel } {
	if hasAVX512Half() && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL {
		return struct{ f16, bf16 halfTileKernel }{f16Tile4x8AVX512, bf16Tile4x8AVX512}
	}
	return struct{ f16, bf16 halfTileKernel }{}
}
