package quant

import "encoding/binary"

// The K-quant lane-order dot products compute Q4_K·Q8_K, Q5_K·Q8_K and
// Q6_K·Q8_K the way an AVX2 build of ggml does (ggml_vec_dot_q4_K_q8_K and
// its Q5_K and Q6_K siblings). Per super-block, the products times their
// sub-block scales are summed exactly in 8 integer lanes, lane l taking
// elements 4l..4l+3 of every 32; lane l then accumulates d_w·d_a·sum_l
// with a fused multiply-add into float32 lane l, and the lanes are added
// as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) at the end. The min correction
// of Q4_K accumulates, per super-block, four pair sums min·bsum in four
// FMA lanes added as (m0+m2)+(m1+m3); Q5_K's adds all eight in integers
// and accumulates them with one scalar FMA (the contraction GCC makes of
// ggml's 'summs += dmin * sum' in a default build). The min correction is
// added to the lanes' sum last.
//
// Like the Q4_0 and Q8_0 ones they give the same bits on every machine:
// AVX2 (or AVX-512) or NEON assembly or an exact Go emulation
// (KLaneKernels says which). The integer sums are exact for any Q8_K input, as in ggml.

// kLaneKernels is one implementation of the K-quant lane-order dot
// products and of the F16 and BF16 dots in ggml's x86 orders.
type kLaneKernels struct {
	name          string
	q4K, q5K, q6K laneDot
	half          halfKernels
}

var goKLaneKernels = kLaneKernels{
	name: "go",
	q4K:  goLaneDot(dotQ4_KQ8_KGo),
	q5K:  goLaneDot(dotQ5_KQ8_KGo),
	q6K:  goLaneDot(dotQ6_KQ8_KGo),
	half: goHalfKernels,
}

var kKernels = bestKLaneKernels()

// KLaneKernels names the implementation behind the K-quant lane-order dot
// products and the F16 and BF16 dots on this machine: "avx512" or "avx2",
// "dotprod" or "neon" (arm64, with or without SDOT), or "go".
func KLaneKernels() string { return kKernels.name }

// DotQ4_KQ8_KLanes is the dot product of a Q4_K weight row with a Q8_K
// activation row of n elements in ggml's AVX2 order (see above); it is
// within float32 rounding of DotQ4_KQ8_K.
func DotQ4_KQ8_KLanes(w, a []byte, n int) float32 { return kDot(kKernels.q4K, Q4_K, w, a, n) }

// DotQ5_KQ8_KLanes is DotQ4_KQ8_KLanes for Q5_K weights.
func DotQ5_KQ8_KLanes(w, a []byte, n int) float32 { return kDot(kKernels.q5K, Q5_K, w, a, n) }

// DotQ6_KQ8_KLanes is DotQ4_KQ8_KLanes for Q6_K weights.
func DotQ6_KQ8_KLanes(w, a []byte, n int) float32 { return kDot(kKernels.q6K, Q6_K, w, a, n) }

// DotQ4_KQ8_KRows sets dst[r] to DotQ4_KQ8_KLanes of weight row r with a,
// where w holds len(dst) consecutive Q4_K rows of n elements; rows go four
// at a time through the SIMD kernel.
func DotQ4_KQ8_KRows(dst []float32, w, a []byte, n int) { dotRows(kKernels.q4K, Q4_K, dst, w, a, n) }

// DotQ5_KQ8_KRows is DotQ4_KQ8_KRows for Q5_K weights.
func DotQ5_KQ8_KRows(dst []float32, w, a []byte, n int) { dotRows(kKernels.q5K, Q5_K, dst, w, a, n) }

// DotQ6_KQ8_KRows is DotQ4_KQ8_KRows for Q6_K weights.
func DotQ6_KQ8_KRows(dst []float32, w, a []byte, n int) { dotRows(kKernels.q6K, Q6_K, dst, w, a, n) }

// DotQ4_KQ8_KTokens sets dst[i] to DotQ4_KQ8_KLanes of the weight row w
// with activation row i of a, which holds len(dst) consecutive Q8_K rows
// of n elements. The SIMD kernel takes four tokens per weight block, so
// the weights are read from memory once for four tokens (a K-quant block
// unpacks into more than 16 registers hold, so it is unpacked per token).
func DotQ4_KQ8_KTokens(dst []float32, w, a []byte, n int) {
	dotTokens(kKernels.q4K, Q4_K, dst, w, a, n)
}

// DotQ5_KQ8_KTokens is DotQ4_KQ8_KTokens for a Q5_K weight row.
func DotQ5_KQ8_KTokens(dst []float32, w, a []byte, n int) {
	dotTokens(kKernels.q5K, Q5_K, dst, w, a, n)
}

// DotQ6_KQ8_KTokens is DotQ4_KQ8_KTokens for a Q6_K weight row.
func DotQ6_KQ8_KTokens(dst []float32, w, a []byte, n int) {
	dotTokens(kKernels.q6K, Q6_K, dst, w, a, n)
}

func kDot(d laneDot, wt Type, w, a []byte, n int) float32 {
	checkDotSizes(wt, Q8_K, w, a, n)
	if n == 0 {
		return 0
	}
	return d.one(w, a)
}

// kBlock is a K-quant super-block unpacked to integers.
type kBlock struct {
	q    [QK_K]int32
	sc   [QK_K / 16]int32 // the scale of every 16 elements
	mins [8]int32         // Q4_K and Q5_K: the min of every 32 elements
}

// unpackQ4_K unpacks a Q4_K block: each 32 bytes of quants hold 64
// elements, low nibbles first.
func (b *kBlock) unpackQ4_K(x []byte) {
	for e := range b.q {
		b.q[e] = int32(x[q4kQs+e/64*32+e%32] >> (4 * (e / 32 % 2)) & 0xf)
	}
	b.unpackScalesMins(x[q4kScales:q4kQs])
}

// unpackQ5_K unpacks a Q5_K block: Q4_K's nibbles plus a fifth bit, bit
// e/32 of qh[e%32].
func (b *kBlock) unpackQ5_K(x []byte) {
	for e := range b.q {
		lo := x[q5kQs+e/64*32+e%32] >> (4 * (e / 32 % 2)) & 0xf
		hi := x[q5kQh+e%32] >> (e / 32) & 1
		b.q[e] = int32(lo | hi<<4)
	}
	b.unpackScalesMins(x[q4kScales:q5kQh])
}

// unpackQ6_K unpacks a Q6_K block. Element e of half h = e/128 takes its
// low four bits from ql[64h + e%64] (the low nibble for e%128 < 64) and
// its high two from bits 2·(e%128/32) of qh[32h + e%32].
func (b *kBlock) unpackQ6_K(x []byte) {
	for e := range b.q {
		h, r := e/128, e%128
		lo := x[64*h+r%64] >> (4 * (r / 64)) & 0xf
		hi := x[q6kQh+32*h+r%32] >> (2 * (r / 32)) & 3
		b.q[e] = int32(lo|hi<<4) - 32
	}
	for j := range b.sc {
		b.sc[j] = int32(int8(x[q6kScales+j]))
	}
}

func (b *kBlock) unpackScalesMins(scales []byte) {
	for j := range b.mins {
		s, m := scaleMinK4(j, scales)
		b.sc[2*j], b.sc[2*j+1], b.mins[j] = int32(s), int32(s), int32(m)
	}
}

// intLanes returns the 8 integer lanes of the block times the Q8_K block
// y: lane l sums scale·q·y over the elements e with e%32 in 4l..4l+3. The
// sums are exact in int32, as ggml's are.
func (b *kBlock) intLanes(y []byte) [8]int32 {
	var lanes [8]int32
	for e, v := range b.q {
		lanes[e%32/4] += b.sc[e/16] * v * int32(int8(y[q8kQs+e]))
	}
	return lanes
}

// minPairs returns min·bsum summed over pairs of 32-element sub-blocks
// (0+1, 2+3, 4+5, 6+7), as vpmaddwd leaves them; ggml's vphaddw adds the
// 16-element sums in 16 bits first, so they wrap as there.
func (b *kBlock) minPairs(y []byte) [4]int32 {
	var p [4]int32
	for j, m := range b.mins {
		b0 := binary.LittleEndian.Uint16(y[q8kBsums+4*j:])
		b1 := binary.LittleEndian.Uint16(y[q8kBsums+4*j+2:])
		p[j/2] += m * int32(int16(b0+b1))
	}
	return p
}

// fmaLanes accumulates d times the integer lanes into acc.
func fmaLanes(acc *[8]float32, d float32, lanes [8]int32) {
	for l, v := range lanes {
		acc[l] = FMA32(d, float32(v), acc[l])
	}
}

// kScales returns d_a·d_w and -d_a·dmin_w for the Q4_K or Q5_K block x
// and the Q8_K block y, rounded as ggml rounds them.
func kScales(x, y []byte) (d, dmin float32) {
	dy := q8KScale(y)
	return dy * f16At(x, 0), -dy * f16At(x, 2)
}

func dotQ4_KQ8_KGo(w, a []byte) float32 {
	var acc [8]float32
	var accM [4]float32
	var b kBlock
	for i := 0; i < len(a)/292; i++ {
		x, y := w[144*i:144*i+144], a[292*i:292*i+292]
		b.unpackQ4_K(x)
		d, dmin := kScales(x, y)
		for m, p := range b.minPairs(y) {
			accM[m] = FMA32(dmin, float32(p), accM[m])
		}
		fmaLanes(&acc, d, b.intLanes(y))
	}
	return hsum8(&acc) + ((accM[0] + accM[2]) + (accM[1] + accM[3]))
}

func dotQ5_KQ8_KGo(w, a []byte) float32 {
	var acc [8]float32
	var summs float32
	var b kBlock
	for i := 0; i < len(a)/292; i++ {
		x, y := w[176*i:176*i+176], a[292*i:292*i+292]
		b.unpackQ5_K(x)
		d, dmin := kScales(x, y)
		p := b.minPairs(y)
		summs = FMA32(dmin, float32(p[0]+p[1]+p[2]+p[3]), summs)
		fmaLanes(&acc, d, b.intLanes(y))
	}
	return hsum8(&acc) + summs
}

func dotQ6_KQ8_KGo(w, a []byte) float32 {
	var acc [8]float32
	var b kBlock
	for i := 0; i < len(a)/292; i++ {
		x, y := w[210*i:210*i+210], a[292*i:292*i+292]
		b.unpackQ6_K(x)
		fmaLanes(&acc, q8KScale(y)*f16At(x, q6kD), b.intLanes(y))
	}
	return hsum8(&acc)
}

// QuantizeQ8_KLanes quantises activations to Q8_K as an x86 build of
// ggml made with GCC does, the activations such a build of llama.cpp
// feeds its K-quant dot products: ggml has no SIMD Q8_K quantiser for
// x86, but GCC fuses the reference's nearest_int(iscale*x) into an FMA, so
// the quants round the exact products iscale·x, where QuantizeQ8_K rounds
// them to float32 first; quants within an ulp of a half can differ by one.
func QuantizeQ8_KLanes(src []float32, dst []byte) error {
	if err := checkQuantize(Q8_K, src, dst); err != nil {
		return err
	}
	for i := 0; i < len(src)/QK_K; i++ {
		encodeQ8_K(src[QK_K*i:QK_K*(i+1)], dst[292*i:292*(i+1)], exactRounder)
	}
	return nil
}

// exactRounder is roundExactProducts, in assembly where the CPU has it
// (the same bytes).
var exactRounder = roundExactProducts
