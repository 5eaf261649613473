package cpurt

import "github.com/metalgraph/metalgraph/quant"

// F16 and BF16 weights multiply activations rounded to the same type, so
// every product is exact and only the order of the float32 additions
// decides the result. That order matters more than its size suggests: the
// next mat-vec rounds its input to 11 (8) bits again, so a last-bit
// difference here flips a rounding there now and then, and the flips add
// up through the layers (summing in float64 instead left llama.cpp's F16
// and BF16 goldens 2.6e-3 away). So these dots add in the order of ggml's
// x86 AVX2 build, the build the goldens come from, which has two orders
// (quant.DotF16Vec and quant.DotF16TinyBLAS say which): ggml_vec_dot_f16 /
// _bf16 for one token, llamafile's tinyBLAS when N ≥ 2, the row count is a
// multiple of 4 and the row length a multiple of 8.
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

// halfDotFunc returns the dot of an F16 or BF16 weight row with a rounded
// activation row in the order ggml uses for that mat-vec (quant's
// lane-order dots, AVX2 assembly where the CPU has it).
func halfDotFunc(t quant.Type, order halfOrder) func(w, a []byte, x []float32) float32 {
	dot := quant.DotF16Vec
	switch {
	case t == quant.BF16 && order == orderTinyBLAS:
		dot = quant.DotBF16TinyBLAS
	case t == quant.BF16:
		dot = quant.DotBF16Vec
	case order == orderTinyBLAS:
		dot = quant.DotF16TinyBLAS
	}
	return func(w, _ []byte, x []float32) float32 { return dot(w, x) }
}
