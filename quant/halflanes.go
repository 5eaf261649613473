package quant

import "encoding/binary"

// The F16 and BF16 dot products below add in the orders of ggml's x86
// AVX2 build, which has two:
//
//   - one token (ggml_vec_dot_f16 / _bf16): four 8-lane accumulators over
//     steps of 32 elements, FMA for F16 and multiply-then-add for BF16,
//     reduced accumulator by accumulator and then lane by lane; the
//     elements past the last step of 32 are added in float64;
//   - several tokens (llamafile's tinyBLAS): one 8-lane FMA accumulator
//     over steps of 8, then a horizontal sum.
//
// x holds the activations already rounded to the weight type, as ggml
// converts them, so every product is exact and only the order of the
// float32 additions decides the result. AVX2 assembly (F16C for the F16
// conversion; AVX-512 for the vec orders where the CPU has it), NEON
// assembly on arm64 (each 8-lane accumulator a pair of 4-lane registers)
// or an exact Go emulation gives the same bits everywhere.

// halfKernels is one implementation of the four orders. The vec forms
// return the reduced sum of the first len(x)&^31 products (0 for none);
// the tinyBLAS forms get a len(x) that is a positive multiple of 8.
type halfKernels struct {
	f16Vec, bf16Vec, f16Tiny, bf16Tiny func(w []byte, x []float32) float32
}

var goHalfKernels = halfKernels{
	f16Vec:   func(w []byte, x []float32) float32 { return halfVecGo(w, x, loadF16, true) },
	bf16Vec:  func(w []byte, x []float32) float32 { return halfVecGo(w, x, loadBF16, false) },
	f16Tiny:  func(w []byte, x []float32) float32 { return halfTinyGo(w, x, loadF16) },
	bf16Tiny: func(w []byte, x []float32) float32 { return halfTinyGo(w, x, loadBF16) },
}

// DotF16Vec is the dot product of an F16 weight row with x (rounded to
// F16 values) in the order of ggml_vec_dot_f16 for AVX2.
func DotF16Vec(w []byte, x []float32) float32 {
	return halfVec(F16, kKernels.half.f16Vec, loadF16, w, x)
}

// DotBF16Vec is the dot product of a BF16 weight row with x (rounded to
// BF16 values) in the order of ggml_vec_dot_bf16 for AVX2.
func DotBF16Vec(w []byte, x []float32) float32 {
	return halfVec(BF16, kKernels.half.bf16Vec, loadBF16, w, x)
}

// DotF16TinyBLAS is the dot product of an F16 weight row with x (rounded
// to F16 values) in the order of llamafile's tinyBLAS for AVX2, which
// ggml uses for mat-muls of two or more tokens. len(x) must be a multiple
// of 8, as tinyBLAS requires.
func DotF16TinyBLAS(w []byte, x []float32) float32 {
	return halfTiny(F16, kKernels.half.f16Tiny, w, x)
}

// DotBF16TinyBLAS is DotF16TinyBLAS for BF16 weights and x rounded to
// BF16 values.
func DotBF16TinyBLAS(w []byte, x []float32) float32 {
	return halfTiny(BF16, kKernels.half.bf16Tiny, w, x)
}

func halfVec(t Type, main func(w []byte, x []float32) float32, load func(w []byte, i int) float32, w []byte, x []float32) float32 {
	checkFloatDot(t, w, x)
	np := len(x) &^ 31
	var sum float64
	if np > 0 {
		sum = float64(main(w[:2*np], x[:np]))
	}
	for k := np; k < len(x); k++ {
		sum += float64(load(w, k) * x[k])
	}
	return float32(sum)
}

func halfTiny(t Type, dot func(w []byte, x []float32) float32, w []byte, x []float32) float32 {
	checkFloatDot(t, w, x)
	if len(x)%8 != 0 {
		panic("quant: tinyBLAS dot of " + t.String() + " needs a row length that is a multiple of 8")
	}
	if len(x) == 0 {
		return 0
	}
	return dot(w, x)
}

func loadF16(w []byte, i int) float32 { return fp16Table[binary.LittleEndian.Uint16(w[2*i:])] }

func loadBF16(w []byte, i int) float32 { return BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:])) }

// halfVecGo is the vectorised part of ggml_vec_dot_f16 (fused) or
// ggml_vec_dot_bf16 (unfused); len(x) is a multiple of 32.
func halfVecGo(w []byte, x []float32, load func(w []byte, i int) float32, fused bool) float32 {
	var acc [4][8]float32
	for i := 0; i < len(x); i += 32 {
		for j := range acc {
			for l := range acc[j] {
				k := i + 8*j + l
				if fused {
					acc[j][l] = FMA32(load(w, k), x[k], acc[j][l])
				} else {
					acc[j][l] = float32(load(w, k)*x[k]) + acc[j][l]
				}
			}
		}
	}
	var v [8]float32
	for l := range v {
		v[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
	}
	if !fused {
		// ggml_vec_dot_bf16: the halves, then movehl/movehdup.
		return hsum8(&v)
	}
	// GGML_F32x8_REDUCE: the halves, then two horizontal adds.
	t := [4]float32{v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]}
	return (t[0] + t[1]) + (t[2] + t[3])
}

// halfTinyGo is tinyBLAS's dot for one output: one 8-lane FMA
// accumulator over steps of 8, then hsum.
func halfTinyGo(w []byte, x []float32, load func(w []byte, i int) float32) float32 {
	var acc [8]float32
	for i := 0; i < len(x); i += 8 {
		for l := range acc {
			acc[l] = FMA32(load(w, i+l), x[i+l], acc[l])
		}
	}
	return hsum8(&acc)
}
