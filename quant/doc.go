// Package quant knows the block formats of GGUF tensors: their geometry,
// how to dequantise a row to float32, how to quantise weights and
// activations the way llama.cpp does, and scalar reference dot products
// that faster kernels are tested against.
//
//	n, _ := quant.RowBytes(quant.Q4_0, 4096) // 2304 bytes: 128 blocks of 18
//	row := make([]float32, 4096)
//	_ = quant.DequantizeRow(quant.Q4_0, data[:n], row)
//
// A mat-vec over rows of weight type t quantises the activation once and
// then takes one dot product per row:
//
//	act := make([]byte, quant.ActivationBytes(t, len(x))) // Q8_0 or Q8_K; empty for float weights
//	if err := quant.QuantizeActivation(t, x, act); err != nil { ... }
//	for r := range y {
//		y[r] = quant.DotRow(t, w[r*rb:(r+1)*rb], act, x)
//	}
//
// CheckFinite finds the first NaN or infinity in a tensor's bytes (every
// value of a float type, the F16 block scales of a quantised one), like
// ggml_validate_row_data behind llama.cpp's --check-tensors.
//
// For Q4_0, Q8_0, Q4_K, Q5_K and Q6_K weights there are also dot products
// in the order of ggml's AVX2 code, with AVX2 assembly behind them, that
// take four rows (or four tokens) per call, and F16 and BF16 dots in the
// orders of ggml's x86 build:
//
//	quant.DotQ4_0Q8_0Rows(y, w, act, len(x)) // y[r] = row r of w · act
//	quant.DotQ4_KQ8_KRows(y, w, actK, len(x)) // Q8_K activations
//	quant.DotF16Vec(w, xh)                    // xh rounded to F16 values
//
// Formats: F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K, and Q8_K (the
// activation format of the K-quants), with ggml's byte layouts.
//
// Fidelity to ggml (commit c392e50, the one the shared goldens come from):
//   - DequantizeRow is bit-identical to ggml's dequantize_row_* (tested on
//     real tensors and on ggml's own output).
//   - QuantizeRow follows ggml's reference quantisers, which llama-quantize
//     uses without an importance matrix; Q4_0, Q8_0 and Q6_K tensors come
//     out byte-identical to llama-quantize's, Q4_K and Q5_K identical to
//     ggml's portable C code.
//   - QuantizeActivation and the integer dot products compute what ggml's
//     portable (non-SIMD) CPU code computes, bit for bit: integer sums per
//     block, the same order of scale products, no fused multiply-adds.
//     ggml's SIMD paths sum in other orders, so an AVX2 or NEON build of
//     llama.cpp differs from these only by float32 rounding.
//   - The lane-order dot products (DotQ4_0Q8_0Lanes, DotQ8_0Q8_0Lanes and
//     their Rows and Tokens forms) compute what ggml's AVX2 code computes,
//     bit for bit (tested against an AVX2 build of ggml), except on quants
//     of -128, which ggml multiplies wrongly. They run AVX-512 assembly
//     where the CPU has AVX-512 F, BW, VL and VNNI, AVX2 assembly where
//     it has AVX2, FMA and F16C, NEON assembly on arm64 (SDOT where
//     the CPU has it) and an exact Go emulation elsewhere (LaneKernels
//     says which), with the same results on every machine; CI runs the
//     arm64 kernels under qemu.
//   - The K-quant lane-order dot products (DotQ4_KQ8_KLanes, DotQ5_KQ8_KLanes,
//     DotQ6_KQ8_KLanes and their Rows and Tokens forms) compute what ggml's
//     AVX2 code built by GCC computes, bit for bit (tested against such a
//     build), with AVX2 assembly (the same algorithm on two rows, tokens
//     or blocks per 512-bit register where the CPU has AVX-512 F, BW and
//     VL), NEON assembly (SDOT where the arm64 CPU has it) or an exact Go
//     emulation (KLaneKernels says which). QuantizeQ8_KLanes rounds as that build's Q8_K quantiser does.
//   - DotF16Vec, DotBF16Vec (one token) and DotF16TinyBLAS, DotBF16TinyBLAS
//     (tinyBLAS, several tokens) add in the orders of ggml's x86 AVX2 build,
//     in AVX2 or NEON assembly or an exact Go emulation.
//   - QuantizeRow(Q8_0, …) runs AVX-512, AVX2 or NEON assembly where it can,
//     bit-identical to the portable quantiser. QuantizeQ8_0Lanes rounds as
//     ggml's AVX2 quantiser does, which changes rare quants whose scaled
//     value is within a few ulps of a half by one; with the lane-order dot
//     products it reproduces an AVX2 build of llama.cpp bit for bit.
//   - Q4_0 tiles (tile.go): PackQ4_0Tile interleaves eight rows once, and
//     DotQ4_0Tile1/Tile2/Tile/TilePair multiply one tile or two by one to
//     four tokens in the order of ggml's repacked Q4_0 kernels; the group
//     kernels (tile_group.go, AVX-512 VNNI) take two tiles by up to eight
//     tokens interleaved by PrepareTileGroup. Every one gives a token the
//     same bits, so a step of any size sees what a decode step sees.
//   - Float weights: like ggml, which converts activations to F16 (BF16)
//     for F16 (BF16) weights, DotF16F32 and DotBF16F32 round x to the
//     weight format first; the products are exact and summed in float64.
package quant
