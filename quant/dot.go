package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The dot products below compute what ggml's CPU backend computes in its
// portable (non-SIMD) code: integer sums per block, multiplied by the block
// scales in the same order, with the same float32 roundings. float32()
// conversions around products keep the compiler from fusing them into FMAs,
// so results do not depend on the architecture.

// VecDotType returns the type ggml's CPU backend converts the activation
// row to before a dot product with a weight row of type t: Q8_0 for Q4_0
// and Q8_0, Q8_K for the K-quants, and the weight's own type for F32, F16
// and BF16. For a type without a dot product here it returns t; CheckDot
// tells whether there is one.
func VecDotType(t Type) Type {
	switch t {
	case Q4_0, Q8_0:
		return Q8_0
	case Q4_K, Q5_K, Q6_K:
		return Q8_K
	}
	return t
}

// CheckDot reports whether DotRow supports weight type t for rows of n
// elements, and if not, why.
func CheckDot(t Type, n int) error {
	switch t {
	case F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K:
	default:
		return fmt.Errorf("quant: no dot product for weight type %s", t)
	}
	if n < 0 || n%t.BlockSize() != 0 {
		return fmt.Errorf("quant: %s row length %d is not a multiple of the block size %d", t, n, t.BlockSize())
	}
	return nil
}

// ActivationBytes returns the size of the quantised activation row that
// DotRow needs for a weight row of type t and n elements. It is 0 for the
// float types, whose dot products round the float activations themselves,
// and 0 when CheckDot(t, n) fails.
func ActivationBytes(t Type, n int) int {
	if CheckDot(t, n) != nil {
		return 0
	}
	switch VecDotType(t) {
	case Q8_0, Q8_K:
		b, _ := RowBytes(VecDotType(t), int64(n))
		return int(b)
	}
	return 0
}

// QuantizeActivation quantises the activation row x for weight type t into
// dst (ActivationBytes(t, len(x)) bytes): Q8_0 or Q8_K blocks; nothing for
// the float types, where dst must be empty.
func QuantizeActivation(t Type, x []float32, dst []byte) error {
	if err := CheckDot(t, len(x)); err != nil {
		return err
	}
	switch vt := VecDotType(t); vt {
	case Q8_0, Q8_K:
		return QuantizeRow(vt, x, dst)
	}
	if len(dst) != 0 {
		return fmt.Errorf("quant: %s weights use float activations; got %d activation bytes, want 0", t, len(dst))
	}
	return nil
}

// DotRow is the dot product of one weight row w of type t with an
// activation row: act (from QuantizeActivation) for the quantised types,
// x for F32, F16 and BF16. The row length comes from w. Mismatched sizes
// are a programming error and panic with a message saying so; CheckDot and
// ActivationBytes give the sizes to allocate.
func DotRow(t Type, w []byte, act []byte, x []float32) float32 {
	switch t {
	case F32:
		return DotF32F32(w, x)
	case F16:
		return DotF16F32(w, x)
	case BF16:
		return DotBF16F32(w, x)
	}
	if CheckDot(t, 0) != nil {
		panic(fmt.Sprintf("quant: DotRow: no dot product for weight type %s", t))
	}
	n := len(w) / t.BlockBytes() * t.BlockSize()
	switch t {
	case Q4_0:
		return DotQ4_0Q8_0(w, act, n)
	case Q8_0:
		return DotQ8_0Q8_0(w, act, n)
	case Q4_K:
		return DotQ4_KQ8_K(w, act, n)
	case Q5_K:
		return DotQ5_KQ8_K(w, act, n)
	default:
		return DotQ6_KQ8_K(w, act, n)
	}
}

// checkDotSizes panics unless w and a hold exactly n elements of their types.
func checkDotSizes(wt, at Type, w, a []byte, n int) {
	wb, err := RowBytes(wt, int64(n))
	if err != nil {
		panic(fmt.Sprintf("quant: dot %s·%s: %v", wt, at, err))
	}
	ab, _ := RowBytes(at, int64(n)) // same block size as wt, so no error
	if int64(len(w)) != wb || int64(len(a)) != ab {
		panic(fmt.Sprintf("quant: dot %s·%s of %d elements: got %d weight and %d activation bytes, want %d and %d",
			wt, at, n, len(w), len(a), wb, ab))
	}
}

func checkFloatDot(t Type, w []byte, x []float32) {
	if len(w) != len(x)*t.BlockBytes() {
		panic(fmt.Sprintf("quant: dot %s·F32: %d weight bytes for %d activations, want %d",
			t, len(w), len(x), len(x)*t.BlockBytes()))
	}
}

// DotQ4_0Q8_0 is the dot product of a Q4_0 weight row with a Q8_0
// activation row of n elements.
func DotQ4_0Q8_0(w, a []byte, n int) float32 {
	checkDotSizes(Q4_0, Q8_0, w, a, n)
	var sumf float32
	for i := 0; i < n/32; i++ {
		x := w[18*i : 18*i+18]
		y := a[34*i : 34*i+34]
		qs, q8 := x[2:18], y[2:34]
		var sum0, sum1 int32
		for j, q := range qs {
			sum0 += (int32(q&0xf) - 8) * int32(int8(q8[j]))
			sum1 += (int32(q>>4) - 8) * int32(int8(q8[j+16]))
		}
		// (sum·dx)·dy here but sum·(dx·dy) for Q8_0, as in ggml.
		sumf += float32(float32(float32(sum0+sum1)*f16At(x, 0)) * f16At(y, 0))
	}
	return sumf
}

// DotQ8_0Q8_0 is the dot product of a Q8_0 weight row with a Q8_0
// activation row of n elements.
func DotQ8_0Q8_0(w, a []byte, n int) float32 {
	checkDotSizes(Q8_0, Q8_0, w, a, n)
	var sumf float32
	for i := 0; i < n/32; i++ {
		x := w[34*i : 34*i+34]
		y := a[34*i : 34*i+34]
		qx, qy := x[2:34], y[2:34]
		var sum int32
		for j, q := range qx {
			sum += int32(int8(q)) * int32(int8(qy[j]))
		}
		sumf += float32(float32(sum) * (f16At(x, 0) * f16At(y, 0)))
	}
	return sumf
}

// q8KScale is the float32 scale of a Q8_K block.
func q8KScale(y []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(y)) }

// lanes16 adds scale·a[k]·q8[k] to lane k mod 8 for a sub-block of 16
// quants, the lane split of ggml's portable K-quant dot products (only the
// float step after it depends on the split; integer sums are exact).
func lanes16(aux *[8]int32, scale int32, a *[16]int8, q8 *[16]byte) {
	for l := 0; l < 8; l++ {
		aux[l] += scale * (int32(a[l])*int32(int8(q8[l])) + int32(a[l+8])*int32(int8(q8[l+8])))
	}
}

// DotQ6_KQ8_K is the dot product of a Q6_K weight row with a Q8_K
// activation row of n elements.
func DotQ6_KQ8_K(w, a []byte, n int) float32 {
	checkDotSizes(Q6_K, Q8_K, w, a, n)
	var sums [8]float32
	var q [QK_K]int8
	for i := 0; i < n/QK_K; i++ {
		x := w[210*i : 210*i+210]
		y := a[292*i : 292*i+292]
		for h := 0; h < 2; h++ {
			ql := x[64*h : 64*h+64]
			qh := x[q6kQh+32*h : q6kQh+32*h+32]
			out := q[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				out[l] = int8(ql[l]&0xf|(qh[l]&3)<<4) - 32
				out[l+32] = int8(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				out[l+64] = int8(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				out[l+96] = int8(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
			}
		}
		var aux [8]int32
		q8 := y[q8kQs : q8kQs+QK_K]
		for j := 0; j < QK_K/16; j++ {
			lanes16(&aux, int32(int8(x[q6kScales+j])), (*[16]int8)(q[16*j:]), (*[16]byte)(q8[16*j:]))
		}
		d := f16At(x, q6kD) * q8KScale(y)
		for l, v := range aux {
			sums[l] += float32(d * float32(v))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// kMins returns Σ min·bsum over the 8 sub-blocks of a Q4_K/Q5_K block: the
// integer part of the min correction, which ggml takes from the Q8_K block
// sums.
func kMins(scales, bsums []byte) int32 {
	var sum int32
	for j := 0; j < QK_K/32; j++ {
		_, m := scaleMinK4(j, scales)
		b0 := int32(int16(binary.LittleEndian.Uint16(bsums[4*j:])))
		b1 := int32(int16(binary.LittleEndian.Uint16(bsums[4*j+2:])))
		sum += (b0 + b1) * int32(m)
	}
	return sum
}

// finishK adds one Q4_K/Q5_K block's lanes to sums, scaled by d·dy, and
// returns the min correction dmin·dy·mins to subtract, in ggml's order.
func finishK(x, y []byte, aux *[8]int32, mins int32, sums *[8]float32) float32 {
	dy := q8KScale(y)
	d := f16At(x, 0) * dy
	for l, v := range aux {
		sums[l] += float32(d * float32(v))
	}
	dmin := f16At(x, 2) * dy
	return float32(dmin * float32(mins))
}

// DotQ4_KQ8_K is the dot product of a Q4_K weight row with a Q8_K
// activation row of n elements.
func DotQ4_KQ8_K(w, a []byte, n int) float32 {
	checkDotSizes(Q4_K, Q8_K, w, a, n)
	var sums [8]float32
	var sumf float32
	for i := 0; i < n/QK_K; i++ {
		x := w[144*i : 144*i+144]
		y := a[292*i : 292*i+292]
		scales := x[q4kScales:q4kQs]
		var aux [8]int32
		// Each 32 bytes of quants hold two sub-blocks: low nibbles, then
		// high nibbles. Lane l takes the elements l, l+8, l+16, l+24 of each.
		for j := 0; j < 4; j++ {
			qs := (*[32]byte)(x[q4kQs+32*j:])
			y1 := (*[32]byte)(y[q8kQs+64*j:])
			y2 := (*[32]byte)(y[q8kQs+64*j+32:])
			sc1, _ := scaleMinK4(2*j, scales)
			sc2, _ := scaleMinK4(2*j+1, scales)
			for l := 0; l < 8; l++ {
				var s1, s2 int32
				for r := l; r < 32; r += 8 {
					s1 += int32(qs[r]&0xf) * int32(int8(y1[r]))
					s2 += int32(qs[r]>>4) * int32(int8(y2[r]))
				}
				aux[l] += int32(sc1)*s1 + int32(sc2)*s2
			}
		}
		sumf -= finishK(x, y, &aux, kMins(scales, y[q8kBsums:q8kBsums+QK_K/8]), &sums)
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// DotQ5_KQ8_K is the dot product of a Q5_K weight row with a Q8_K
// activation row of n elements.
func DotQ5_KQ8_K(w, a []byte, n int) float32 {
	checkDotSizes(Q5_K, Q8_K, w, a, n)
	var sums [8]float32
	var sumf float32
	for i := 0; i < n/QK_K; i++ {
		x := w[176*i : 176*i+176]
		y := a[292*i : 292*i+292]
		scales := x[q4kScales:q5kQh]
		qh := (*[32]byte)(x[q5kQh:])
		var aux [8]int32
		// As Q4_K, with the fifth bits of sub-blocks 2j and 2j+1 in bits
		// 2j and 2j+1 of qh.
		for j := 0; j < 4; j++ {
			qs := (*[32]byte)(x[q5kQs+32*j:])
			y1 := (*[32]byte)(y[q8kQs+64*j:])
			y2 := (*[32]byte)(y[q8kQs+64*j+32:])
			sc1, _ := scaleMinK4(2*j, scales)
			sc2, _ := scaleMinK4(2*j+1, scales)
			for l := 0; l < 8; l++ {
				var s1, s2 int32
				for r := l; r < 32; r += 8 {
					h := qh[r] >> (2 * j)
					s1 += int32(qs[r]&0xf|(h&1)<<4) * int32(int8(y1[r]))
					s2 += int32(qs[r]>>4|(h&2)<<3) * int32(int8(y2[r]))
				}
				aux[l] += int32(sc1)*s1 + int32(sc2)*s2
			}
		}
		sumf -= finishK(x, y, &aux, kMins(scales, y[q8kBsums:q8kBsums+QK_K/8]), &sums)
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// DotF32F32 is the dot product of an F32 weight row (raw bytes) with x,
// accumulated in float64 as ggml's portable code does.
func DotF32F32(w []byte, x []float32) float32 {
	checkFloatDot(F32, w, x)
	var sum float64
	for i, v := range x {
		wi := math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:]))
		sum += float64(wi * v)
	}
	return float32(sum)
}

// DotF16F32 is the dot product of an F16 weight row with x. Like ggml's CPU
// backend, which converts activations to F16 for F16 weights, it rounds
// each element of x to F16 first; the products are then exact in float32
// and are accumulated in float64.
func DotF16F32(w []byte, x []float32) float32 {
	checkFloatDot(F16, w, x)
	var sum float64
	for i, v := range x {
		xi := fp16Table[FP32ToFP16(v)]
		sum += float64(f16At(w, 2*i) * xi)
	}
	return float32(sum)
}

// DotBF16F32 is the dot product of a BF16 weight row with x, rounding each
// element of x to BF16 first as ggml does for BF16 weights.
func DotBF16F32(w []byte, x []float32) float32 {
	checkFloatDot(BF16, w, x)
	var sum float64
	for i, v := range x {
		wi := BF16ToFP32(binary.LittleEndian.Uint16(w[2*i:]))
		sum += float64(wi * BF16ToFP32(FP32ToBF16(v)))
	}
	return float32(sum)
}
