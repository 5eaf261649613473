package quant

import "math"

// fp16Table holds the float32 value of every half-precision bit pattern, so
// that the hot dequantisation loops convert scales with one load, as ggml's
// CPU backend does with its own table.
var fp16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = fp16ToFP32Slow(uint16(i))
	}
	return &t
}()

// FP16ToFP32 converts an IEEE 754 binary16 value to float32. Every half
// value, subnormals included, is exactly representable; a NaN stays a NaN
// (made quiet) with its payload kept.
func FP16ToFP32(h uint16) float32 { return fp16Table[h] }

func fp16ToFP32Slow(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f && man == 0:
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7fc00000 | man<<13)
	case exp == 0:
		// Zero or subnormal: man * 2^-24, exact in float32.
		v := float32(man) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// FP32ToFP16 converts a float32 to IEEE 754 binary16 with round to nearest,
// ties to even (what F16C's vcvtps2ph and ggml's scalar conversion do).
// Values too large become ±Inf, values too small ±0 or a subnormal; NaN
// becomes a quiet NaN.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// The result is a half subnormal (or zero): mantissa units of 2^-24.
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := man | 0x800000
		shift := uint(14 - e)
		// Adding just under half a unit, plus the kept lowest bit, rounds
		// to nearest with ties to even; a carry into the smallest normal
		// encodes correctly.
		return sign | uint16((m+(1<<(shift-1))-1+(m>>shift)&1)>>shift)
	}
	// Same rounding without branches; a carry into the exponent is correct,
	// up to Inf.
	v := uint32(e)<<23 | man
	return sign | uint16((v+0xfff+(v>>13)&1)>>13)
}

// BF16ToFP32 converts a bfloat16 value to float32 (exact: bf16 is the top
// half of a float32).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts a float32 to bfloat16 with round to nearest, ties to
// even; subnormals are kept and NaN is made quiet, as ggml does.
func FP32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}
