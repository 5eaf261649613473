package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Byte offsets inside the K-quant super-blocks, as laid out by ggml.
const (
	q4kScales = 4  // after d, dmin
	q4kQs     = 16 // after the 12 packed scale bytes
	q5kQh     = 16
	q5kQs     = 48 // after 32 bytes of fifth bits
	q6kQh     = 128
	q6kScales = 192
	q6kD      = 208
	q8kQs     = 4
	q8kBsums  = 4 + QK_K
)

// checkRow verifies that t is supported for the operation op and that buf
// holds exactly one row of n elements.
func checkRow(op string, t Type, n int, buf int) error {
	if !t.Known() {
		return fmt.Errorf("quant: %s: unknown tensor type id %d", op, uint32(t))
	}
	if !t.Supported() {
		return fmt.Errorf("quant: %s: type %s is not supported", op, t)
	}
	want, err := RowBytes(t, int64(n))
	if err != nil {
		return fmt.Errorf("quant: %s: %w", op, err)
	}
	if int64(buf) != want {
		return fmt.Errorf("quant: %s: %s row of %d elements needs %d bytes, got %d", op, t, n, want, buf)
	}
	return nil
}

func f16At(b []byte, off int) float32 { return fp16Table[binary.LittleEndian.Uint16(b[off:])] }

// DequantizeRow decodes one row of type t into dst. src must hold exactly
// RowBytes(t, len(dst)) bytes. The arithmetic matches ggml's dequantize_row_*
// bit for bit.
func DequantizeRow(t Type, src []byte, dst []float32) error {
	if err := checkRow("dequantize", t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = f16At(src, 2*i)
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFP32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		bs, bb := t.BlockSize(), t.BlockBytes()
		dec := blockDecoders[t]
		for i := 0; i < len(dst)/bs; i++ {
			dec(src[i*bb:(i+1)*bb], dst[i*bs:(i+1)*bs])
		}
	}
	return nil
}

// blockDecoders decode one block of a quantised type.
var blockDecoders = map[Type]func(b []byte, y []float32){
	Q4_0: dequantQ4_0,
	Q8_0: dequantQ8_0,
	Q4_K: dequantQ4_K,
	Q5_K: dequantQ5_K,
	Q6_K: dequantQ6_K,
	Q8_K: dequantQ8_K,
}

func dequantQ4_0(b []byte, y []float32) {
	d := f16At(b, 0)
	qs := b[2:18]
	y = y[:32]
	for j, q := range qs {
		y[j] = float32(int(q&0xf)-8) * d
		y[j+16] = float32(int(q>>4)-8) * d
	}
}

func dequantQ8_0(b []byte, y []float32) {
	d := f16At(b, 0)
	qs := b[2:34]
	y = y[:32]
	for j, q := range qs {
		y[j] = float32(int8(q)) * d
	}
}

// scaleMinK4 unpacks the 6-bit scale and min of sub-block j (0..7) from the
// 12 packed bytes of a Q4_K/Q5_K super-block: sub-blocks 0..3 keep theirs
// in the low six bits of bytes j and j+4; sub-blocks 4..7 split theirs
// between a nibble of byte j+4 and the top two bits of bytes j-4 and j.
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

func dequantQ4_K(b []byte, y []float32) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	scales := b[q4kScales:q4kQs]
	qs := b[q4kQs : q4kQs+QK_K/2]
	y = y[:QK_K]
	for j := 0; j < 4; j++ {
		sc1, m1 := scaleMinK4(2*j, scales)
		sc2, m2 := scaleMinK4(2*j+1, scales)
		d1, dm1 := d*float32(sc1), float32(dmin*float32(m1))
		d2, dm2 := d*float32(sc2), float32(dmin*float32(m2))
		q := qs[32*j : 32*j+32]
		out := y[64*j : 64*j+64]
		for l, v := range q {
			// float32() stops the compiler fusing into an FMA, keeping
			// ggml's two roundings.
			out[l] = float32(d1*float32(v&0xf)) - dm1
			out[l+32] = float32(d2*float32(v>>4)) - dm2
		}
	}
}

func dequantQ5_K(b []byte, y []float32) {
	d := f16At(b, 0)
	dmin := f16At(b, 2)
	scales := b[q4kScales:q5kQh]
	qh := b[q5kQh:q5kQs]
	qs := b[q5kQs : q5kQs+QK_K/2]
	y = y[:QK_K]
	for j := 0; j < 4; j++ {
		sc1, m1 := scaleMinK4(2*j, scales)
		sc2, m2 := scaleMinK4(2*j+1, scales)
		d1, dm1 := d*float32(sc1), float32(dmin*float32(m1))
		d2, dm2 := d*float32(sc2), float32(dmin*float32(m2))
		u1, u2 := byte(1)<<(2*j), byte(2)<<(2*j)
		q := qs[32*j : 32*j+32]
		out := y[64*j : 64*j+64]
		for l, v := range q {
			lo, hi := v&0xf, v>>4
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			out[l] = float32(d1*float32(lo)) - dm1
			out[l+32] = float32(d2*float32(hi)) - dm2
		}
	}
}

func dequantQ6_K(b []byte, y []float32) {
	d := f16At(b, q6kD)
	y = y[:QK_K]
	for h := 0; h < 2; h++ {
		ql := b[64*h : 64*h+64]
		qh := b[q6kQh+32*h : q6kQh+32*h+32]
		sc := b[q6kScales+8*h : q6kScales+8*h+8]
		out := y[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(ql[l]&0xf|(qh[l]&3)<<4) - 32
			q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
			q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
			q4 := int(ql[l+32]>>4|(qh[l]>>6)<<4) - 32
			out[l] = d * float32(int8(sc[is])) * float32(q1)
			out[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			out[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			out[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
	}
}

func dequantQ8_K(b []byte, y []float32) {
	d := math.Float32frombits(binary.LittleEndian.Uint32(b))
	qs := b[q8kQs : q8kQs+QK_K]
	y = y[:QK_K]
	for j, q := range qs {
		y[j] = d * float32(int8(q))
	}
}
