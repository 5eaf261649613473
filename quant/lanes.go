package quant

import (
	"fmt"
	"math"
)

// The lane-order dot products compute Q4_0·Q8_0 and Q8_0·Q8_0 the way an
// AVX2 build of ggml does (ggml_vec_dot_q4_0_q8_0, ggml_vec_dot_q8_0_q8_0),
// which is not the order of the portable reference in dot.go: per block,
// the 32 products are summed in 8 integer lanes of 4 consecutive elements
// (in the block's own order: the Q4_0 low nibbles are elements 0-15, the
// high nibbles 16-31); lane l then accumulates d_w·d_a·sum_l with a fused
// multiply-add into float32 lane l; at the end the 8 lanes are added as
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
//
// They give the same bits on every machine: AVX-512 assembly where the
// CPU has AVX-512 F, BW, VL and VNNI (two rows or tokens per register, each
// lane's float operations unchanged), AVX2 assembly where it has AVX2, FMA
// and F16C, NEON assembly on arm64 (with SDOT where the CPU
// has the dot-product extension), and otherwise a Go emulation with
// exactly rounded float32 FMAs. They match ggml's AVX2 code bit for bit (tested
// against an AVX2 build of ggml) except on quants of -128, which ggml's
// sign trick multiplies wrongly and these exactly (llama.cpp's quantisers
// never write -128). To reproduce an AVX2 build of llama.cpp, quantise the
// activations with QuantizeQ8_0Lanes.

// laneDot is one implementation of the lane-order dot product for one
// weight type. Every function gets at least one block.
type laneDot struct {
	// one is the dot product of the weight row w with the activation row a.
	one func(w, a []byte) float32
	// rows4 sets dst[r] to row r of w (rows stride bytes apart) times a.
	rows4 func(dst *[4]float32, w []byte, stride int, a []byte)
	// tokens4 sets dst[i] to w times activation row i of a (stride bytes apart).
	tokens4 func(dst *[4]float32, w, a []byte, stride int)
}

// laneKernels is one implementation of everything that has a SIMD path.
type laneKernels struct {
	name       string
	q4_0, q8_0 laneDot
	// quantizeQ8_0 is QuantizeRow(Q8_0, …) and quantizeQ8_0Lanes is
	// QuantizeQ8_0Lanes, for checked, finite input.
	quantizeQ8_0, quantizeQ8_0Lanes func(x []float32, dst []byte)
}

// goKernels runs everywhere; bestKernels (one per architecture) picks the
// fastest set the CPU runs.
var goKernels = laneKernels{
	name:              "go",
	q4_0:              goLaneDot(dotQ4_0Q8_0Go),
	q8_0:              goLaneDot(dotQ8_0Q8_0Go),
	quantizeQ8_0:      blockRows(quantQ8_0),
	quantizeQ8_0Lanes: blockRows(quantQ8_0Lanes),
}

var kernels = bestKernels()

// LaneKernels names the implementation behind the lane-order functions on
// this machine: "avx512", "avx2", "dotprod" (arm64 with SDOT), "neon" or "go".
func LaneKernels() string { return kernels.name }

func goLaneDot(one func(w, a []byte) float32) laneDot {
	return laneDot{
		one: one,
		rows4: func(dst *[4]float32, w []byte, stride int, a []byte) {
			for r := range dst {
				dst[r] = one(w[r*stride:(r+1)*stride], a)
			}
		},
		tokens4: func(dst *[4]float32, w, a []byte, stride int) {
			for i := range dst {
				dst[i] = one(w, a[i*stride:(i+1)*stride])
			}
		},
	}
}

// DotQ4_0Q8_0Lanes is the dot product of a Q4_0 weight row with a Q8_0
// activation row of n elements in ggml's AVX2 order (see above); it is
// within float32 rounding of DotQ4_0Q8_0.
func DotQ4_0Q8_0Lanes(w, a []byte, n int) float32 {
	checkDotSizes(Q4_0, Q8_0, w, a, n)
	if n == 0 {
		return 0
	}
	return kernels.q4_0.one(w, a)
}

// DotQ8_0Q8_0Lanes is the dot product of a Q8_0 weight row with a Q8_0
// activation row of n elements in ggml's AVX2 order; it is within float32
// rounding of DotQ8_0Q8_0.
func DotQ8_0Q8_0Lanes(w, a []byte, n int) float32 {
	checkDotSizes(Q8_0, Q8_0, w, a, n)
	if n == 0 {
		return 0
	}
	return kernels.q8_0.one(w, a)
}

// DotQ4_0Q8_0Rows sets dst[r] to DotQ4_0Q8_0Lanes of weight row r with a,
// where w holds len(dst) consecutive Q4_0 rows of n elements. Rows go four
// at a time through the SIMD kernel, which loads the activations once for
// all four, so a mat-vec is bound by memory rather than arithmetic.
func DotQ4_0Q8_0Rows(dst []float32, w, a []byte, n int) {
	dotRows(kernels.q4_0, Q4_0, dst, w, a, n)
}

// DotQ8_0Q8_0Rows is DotQ4_0Q8_0Rows for Q8_0 weights.
func DotQ8_0Q8_0Rows(dst []float32, w, a []byte, n int) {
	dotRows(kernels.q8_0, Q8_0, dst, w, a, n)
}

// DotQ4_0Q8_0Tokens sets dst[i] to DotQ4_0Q8_0Lanes of the weight row w
// with activation row i of a, which holds len(dst) consecutive Q8_0 rows of
// n elements: the weight row is read and unpacked once for four tokens.
func DotQ4_0Q8_0Tokens(dst []float32, w, a []byte, n int) {
	dotTokens(kernels.q4_0, Q4_0, dst, w, a, n)
}

// DotQ8_0Q8_0Tokens is DotQ4_0Q8_0Tokens for a Q8_0 weight row.
func DotQ8_0Q8_0Tokens(dst []float32, w, a []byte, n int) {
	dotTokens(kernels.q8_0, Q8_0, dst, w, a, n)
}

func dotRows(d laneDot, wt Type, dst []float32, w, a []byte, n int) {
	wb, ab := multiDotSizes(wt, n)
	if len(w) != len(dst)*wb || len(a) != ab {
		panic(fmt.Sprintf("quant: dot %s·%s of %d rows of %d elements: got %d weight and %d activation bytes, want %d and %d",
			wt, VecDotType(wt), len(dst), n, len(w), len(a), len(dst)*wb, ab))
	}
	if n == 0 {
		clear(dst)
		return
	}
	r := 0
	for ; r+4 <= len(dst); r += 4 {
		d.rows4((*[4]float32)(dst[r:]), w[r*wb:(r+4)*wb], wb, a)
	}
	for ; r < len(dst); r++ {
		dst[r] = d.one(w[r*wb:(r+1)*wb], a)
	}
}

func dotTokens(d laneDot, wt Type, dst []float32, w, a []byte, n int) {
	wb, ab := multiDotSizes(wt, n)
	if len(w) != wb || len(a) != len(dst)*ab {
		panic(fmt.Sprintf("quant: dot %s·%s of %d elements for %d tokens: got %d weight and %d activation bytes, want %d and %d",
			wt, VecDotType(wt), n, len(dst), len(w), len(a), wb, len(dst)*ab))
	}
	if n == 0 {
		clear(dst)
		return
	}
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d.tokens4((*[4]float32)(dst[i:]), w, a[i*ab:(i+4)*ab], ab)
	}
	for ; i < len(dst); i++ {
		dst[i] = d.one(w, a[i*ab:(i+1)*ab])
	}
}

// multiDotSizes returns the bytes of one weight row of type wt and of one
// activation row (Q8_0 or Q8_K) of n elements, panicking on a partial block.
func multiDotSizes(wt Type, n int) (wb, ab int) {
	w, err := RowBytes(wt, int64(n))
	if err != nil {
		panic(fmt.Sprintf("quant: dot %s·%s: %v", wt, VecDotType(wt), err))
	}
	a, _ := RowBytes(VecDotType(wt), int64(n)) // same block size as wt
	return int(w), int(a)
}

// dotQ4_0Q8_0Go is the lane-order Q4_0·Q8_0 dot product in Go.
func dotQ4_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	for i := 0; i < len(a)/34; i++ {
		x := w[18*i : 18*i+18]
		y := a[34*i : 34*i+34]
		d := f16At(x, 0) * f16At(y, 0) // exact: 11-bit significands
		qs, q8 := x[2:18], y[2:34]
		for l := 0; l < 4; l++ {
			var lo, hi int32
			for j := 4 * l; j < 4*l+4; j++ {
				lo += (int32(qs[j]&0xf) - 8) * int32(int8(q8[j]))
				hi += (int32(qs[j]>>4) - 8) * int32(int8(q8[j+16]))
			}
			acc[l] = FMA32(d, float32(lo), acc[l])
			acc[l+4] = FMA32(d, float32(hi), acc[l+4])
		}
	}
	return hsum8(&acc)
}

// dotQ8_0Q8_0Go is the lane-order Q8_0·Q8_0 dot product in Go.
func dotQ8_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	for i := 0; i < len(a)/34; i++ {
		x := w[34*i : 34*i+34]
		y := a[34*i : 34*i+34]
		d := f16At(x, 0) * f16At(y, 0)
		qx, qy := x[2:34], y[2:34]
		for l := range acc {
			var sum int32
			for j := 4 * l; j < 4*l+4; j++ {
				sum += int32(int8(qx[j])) * int32(int8(qy[j]))
			}
			acc[l] = FMA32(d, float32(sum), acc[l])
		}
	}
	return hsum8(&acc)
}

// hsum8 adds 8 lanes in the order of ggml's hsum_float_8.
func hsum8(v *[8]float32) float32 {
	a0, a1, a2, a3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (a0 + a2) + (a1 + a3)
}

// FMA32 returns a·b+c rounded once to float32, as VFMADD231PS computes it.
// The product is exact in float64 (so fusing it with the sum, as Go does on
// arm64, changes nothing), but the float64 sum would round twice
// (to 53 bits, then to 24) and can land on a float32 halfway point that
// the exact sum is not on. Rounding the sum to odd instead (keeping a
// sticky last bit when it is inexact) makes the second rounding correct.
func FMA32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	// Two-sum: e is the exact error of s, so p + c = s + e.
	t := s - p
	e := (p - (s - t)) + (float64(c) - t)
	if bits := math.Float64bits(s); e != 0 && bits&1 == 0 && math.Abs(s) <= math.MaxFloat64 {
		// Step to the odd neighbour on the side of the exact sum.
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}

// QuantizeQ8_0Lanes quantises activations to Q8_0 as ggml's AVX2 code
// does (quantize_row_q8_0), the activations an AVX2 build of llama.cpp
// feeds its dot products: the scales are QuantizeQ8_0's, but the quants
// are x·(127/amax) rounded with halves to even, where QuantizeQ8_0 rounds
// x·(1/d) with halves away from zero, so rare quants whose scaled value is
// within a few ulps of a half differ by one. Like QuantizeQ8_0, it gives
// zero quants to blocks whose inverse scale overflows (amax < ~3.7e-37),
// where ggml's AVX2 code writes -128s; their F16 scale is 0.
func QuantizeQ8_0Lanes(src []float32, dst []byte) error {
	if err := checkQuantize(Q8_0, src, dst); err != nil {
		return err
	}
	kernels.quantizeQ8_0Lanes(src, dst)
	return nil
}

// quantQ8_0Lanes encodes one Q8_0 block as QuantizeQ8_0Lanes.
func quantQ8_0Lanes(x []float32, b []byte) {
	x = x[:32]
	amax := absMax(x)
	putF16(b[0:2], amax/127)
	id := 127 / amax
	if id > math.MaxFloat32 { // amax is 0 or tiny, as in quantQ8_0
		id = 0
	}
	qs := b[2:34]
	for j, v := range x {
		qs[j] = byte(int8(math.RoundToEven(float64(v * id))))
	}
}

// blockRows makes a row quantiser of a Q8_0 block encoder.
func blockRows(enc func(x []float32, b []byte)) func(x []float32, dst []byte) {
	return func(x []float32, dst []byte) {
		for i := 0; i < len(x)/32; i++ {
			enc(x[32*i:32*i+32], dst[34*i:34*i+34])
		}
	}
}
