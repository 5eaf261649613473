package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// blockEncoders quantise one block of a quantised type. They follow ggml's
// reference quantisers (quantize_row_*_ref), which are what llama-quantize
// uses when no importance matrix is given. Q8_0, the activation format of
// every mat-vec, has whole-row kernels instead (quantQ8_0 is its encoder).
var blockEncoders = map[Type]func(x []float32, b []byte){
	Q4_0: quantQ4_0,
	Q4_K: quantQ4_K,
	Q5_K: quantQ5_K,
	Q6_K: quantQ6_K,
	Q8_K: quantQ8_K,
}

// QuantizeRow encodes one row of len(src) elements as type t into dst,
// which must hold exactly RowBytes(t, len(src)) bytes. Every supported type
// can be written; the values must be finite.
func QuantizeRow(t Type, src []float32, dst []byte) error {
	if err := checkQuantize(t, src, dst); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
		}
	case Q8_0:
		kernels.quantizeQ8_0(src, dst)
	default:
		bs, bb := t.BlockSize(), t.BlockBytes()
		enc := blockEncoders[t]
		for i := 0; i < len(src)/bs; i++ {
			enc(src[i*bs:(i+1)*bs], dst[i*bb:(i+1)*bb])
		}
	}
	return nil
}

// checkQuantize verifies that dst holds one row of len(src) elements of
// type t and that src is finite.
func checkQuantize(t Type, src []float32, dst []byte) error {
	if err := checkRow("quantize", t, len(src), len(dst)); err != nil {
		return err
	}
	if err := checkFinite(src); err != nil {
		return fmt.Errorf("quant: quantize %s: %w", t, err)
	}
	return nil
}

// checkFinite rejects NaN and ±Inf, which no quantiser can represent and
// which ggml's reference code would turn into arbitrary codes.
func checkFinite(x []float32) error {
	for i, v := range x {
		if nonFinite32(math.Float32bits(v)) {
			return fmt.Errorf("element %d is %v", i, v)
		}
	}
	return nil
}

// QuantizeQ8_0 quantises activations to Q8_0 blocks the way ggml's CPU
// backend does before a Q4_0 or Q8_0 dot product: per 32 elements,
// d = amax/127 stored as F16, q = round(x/d) rounding halves away from zero.
func QuantizeQ8_0(src []float32, dst []byte) error { return QuantizeRow(Q8_0, src, dst) }

// QuantizeQ8_K quantises activations to Q8_K super-blocks the way ggml's CPU
// backend does before a K-quant dot product: per 256 elements a float32
// scale from the element of largest magnitude, int8 quants, and the sums of
// each 16 quants.
func QuantizeQ8_K(src []float32, dst []byte) error { return QuantizeRow(Q8_K, src, dst) }

func putF16(b []byte, v float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(v)) }

// nearestInt rounds to the nearest integer, halves to even, as ggml's
// nearest_int does with its 1.5·2^23 trick.
func nearestInt(f float32) int { return int(math.RoundToEven(float64(f))) }

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func quantQ4_0(x []float32, b []byte) {
	x = x[:32]
	// The scale maps the element of largest magnitude, sign included, to -8,
	// so the asymmetric range -8..7 is used fully on that side.
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, maxv = a, v
		}
	}
	d := maxv / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(b[0:2], d)
	qs := b[2:18]
	for j := range qs {
		x0 := float32(x[j] * id)
		x1 := float32(x[j+16] * id)
		q0 := min(15, int8(x0+8.5))
		q1 := min(15, int8(x1+8.5))
		qs[j] = byte(q0) | byte(q1)<<4
	}
}

// absMax returns the largest |x[i]|, 0 for an empty x.
func absMax(x []float32) float32 {
	var amax float32
	for _, v := range x {
		// A plain comparison: the max builtin's NaN and signed-zero
		// handling costs several times more in this loop.
		if a := abs32(v); a > amax {
			amax = a
		}
	}
	return amax
}

func quantQ8_0(x []float32, b []byte) {
	x = x[:32]
	amax := absMax(x)
	d := amax / 127
	// ggml's id is 1/d, or 0 when d is 0. For amax below about 3.7e-37 1/d
	// overflows and the quants come from converting ±Inf and NaN to int8,
	// which C leaves undefined and x86 makes 0; id = 0 gives those zeros on
	// every machine. The F16 scale of such a block is 0 anyway.
	id := 1 / d
	if id > math.MaxFloat32 {
		id = 0
	}
	putF16(b[0:2], d)
	qs := b[2:34]
	for j, v := range x {
		qs[j] = byte(int8(math.Round(float64(v * id))))
	}
}

func quantQ8_K(x []float32, b []byte) { encodeQ8_K(x, b, roundProducts) }

// roundProducts sets qs[j] to nearest_int(iscale·x[j]) with the product
// rounded to float32 first, as ggml's reference code says.
func roundProducts(x []float32, iscale float32, qs []byte) {
	for j, v := range x {
		qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
	}
}

// roundExactProducts is roundProducts on the exact products iscale·x, as
// a GCC build of ggml computes them: it contracts nearest_int(iscale*x),
// an add of 1.5·2^23, into an FMA.
func roundExactProducts(x []float32, iscale float32, qs []byte) {
	for j, v := range x {
		qs[j] = byte(int8(min(127, int(math.RoundToEven(float64(iscale)*float64(v))))))
	}
}

// encodeQ8_K encodes one Q8_K block as ggml's quantize_row_q8_K_ref, its
// quants rounded by round (roundProducts or roundExactProducts).
func encodeQ8_K(x []float32, b []byte, round func(x []float32, iscale float32, qs []byte)) {
	x = x[:QK_K]
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	qs := b[q8kQs : q8kQs+QK_K]
	bsums := b[q8kBsums : q8kBsums+QK_K/8]
	if amax == 0 {
		clear(b)
		return
	}
	iscale := -127 / maxv
	if math.IsInf(float64(iscale), 0) {
		// amax < ~3.7e-37: ggml's nearest_int turns the infinite and NaN
		// products into 0 by its bit trick, and d = 1/iscale is a zero.
		clear(b)
		binary.LittleEndian.PutUint32(b[0:4], math.Float32bits(1/iscale))
		return
	}
	round(x, iscale, qs)
	for j := 0; j < QK_K/16; j++ {
		var sum int16
		for _, q := range qs[16*j : 16*j+16] {
			sum += int16(int8(q))
		}
		binary.LittleEndian.PutUint16(bsums[2*j:], uint16(sum))
	}
	binary.LittleEndian.PutUint32(b[0:4], math.Float32bits(1/iscale))
}
