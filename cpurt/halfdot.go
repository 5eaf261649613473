package cpurt

import (
	"encoding/binary"

	"github.com/metalgraph/metalgraph/quant"
)

// F16 and BF16 weights multiply activations rounded to the same type, so
// every product is exact and only the order of the float32 additions
// decides the result. That order matters more than its size suggests: the
// next mat-vec rounds its input to 11 (8) bits again, so a last-bit
// difference here flips a rounding there now and then, and the flips add
// up through the layers (summing in float64 instead left llama.cpp's F16
// and BF16 goldens 2.6e-3 away). So these dots add in the order of ggml's
// x86 AVX2 build, the build the goldens come from, which has two orders:
//
//   - one token (ggml_vec_dot_f16 / _bf16): four 8-lane accumulators over
//     steps of 32 elements, FMA for F16 and multiply-then-add for BF16,
//     reduced accumulator by accumulator and then lane by lane;
//   - several tokens (llamafile's tinyBLAS, used when N ≥ 2, the row count
//     is a multiple of 4 and the row length a multiple of 8): one 8-lane
//     FMA accumulator over steps of 8, then a horizontal sum.
//
// So, unlike the integer dots of the quantised types, an F16 model's
// logits depend on whether a token was computed alone or with others, in
// llama.cpp as here.

// halfOrder selects one of ggml's two summation orders.
type halfOrder uint8

const (
	orderVecDot   halfOrder = iota // ggml_vec_dot_f16 / _bf16, one token
	orderTinyBLAS                  // tinyBLAS, several tokens
)

// halfOrderFor returns the order ggml uses for a mat-vec of n tokens over
// rows × cols weights.
func halfOrderFor(n, rows, cols int) halfOrder {
	if n >= 2 && rows%4 == 0 && cols%8 == 0 {
		return orderTinyBLAS
	}
	return orderVecDot
}

// halfLoad is a row element as float32: F16 or BF16 bits.
type halfLoad func(w []byte, i int) float32

func loadF16(w []byte, i int) float32 {
	return quant.FP16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
}

func loadBF16(w []byte, i int) float32 {
	return quant.BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
}

// halfDotVec is ggml_vec_dot_f16 (fused, F16) or ggml_vec_dot_bf16
// (unfused, BF16) for AVX2: x is already rounded to the weight type.
func halfDotVec(w []byte, x []float32, load halfLoad, fused bool) float32 {
	var acc [4][8]float32
	n := len(x)
	np := n &^ 31
	for i := 0; i < np; i += 32 {
		for j := range acc {
			for l := range acc[j] {
				k := i + 8*j + l
				if fused {
					acc[j][l] = quant.FMA32(load(w, k), x[k], acc[j][l])
				} else {
					acc[j][l] = float32(load(w, k)*x[k]) + acc[j][l]
				}
			}
		}
	}
	var sum float64
	if fused {
		// GGML_F32x8_REDUCE: (a0+a2) + (a1+a3), then the halves, then
		// two horizontal adds.
		var v [8]float32
		for l := range v {
			v[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
		}
		t := [4]float32{v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]}
		sum = float64((t[0] + t[1]) + (t[2] + t[3]))
	} else {
		// ggml_vec_dot_bf16: (c1+c3) + (c2+c4), then the halves and
		// movehl/movehdup.
		var v [8]float32
		for l := range v {
			v[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
		}
		sum = float64(hsum8(v))
	}
	for k := np; k < n; k++ {
		sum += float64(load(w, k) * x[k])
	}
	return float32(sum)
}

// halfDotTiny is tinyBLAS's dot for one output: one 8-lane FMA
// accumulator over steps of 8 (len(x) is a multiple of 8), then hsum.
func halfDotTiny(w []byte, x []float32, load halfLoad) float32 {
	var acc [8]float32
	for i := 0; i < len(x); i += 8 {
		for l := range acc {
			acc[l] = quant.FMA32(load(w, i+l), x[i+l], acc[l])
		}
	}
	return hsum8(acc)
}

// hsum8 is the horizontal sum of an AVX register as tinyBLAS and
// ggml_vec_dot_bf16 take it: high half plus low half, then lanes 0+2 and
// 1+3, then those two.
func hsum8(v [8]float32) float32 {
	t := [4]float32{v[4] + v[0], v[5] + v[1], v[6] + v[2], v[7] + v[3]}
	return (t[0] + t[2]) + (t[1] + t[3])
}

// halfDotFunc returns the dot of an F16 or BF16 weight row with a rounded
// activation row in the order ggml uses for that mat-vec.
func halfDotFunc(t quant.Type, order halfOrder) func(w, a []byte, x []float32) float32 {
	load, fused := halfLoad(loadF16), true
	if t == quant.BF16 {
		load, fused = loadBF16, false
	}
	if order == orderTinyBLAS {
		return func(w, _ []byte, x []float32) float32 { return halfDotTiny(w, x, load) }
	}
	return func(w, _ []byte, x []float32) float32 { return halfDotVec(w, x, load, fused) }
}
