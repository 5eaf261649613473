// NEON helpers shared by the arm64 kernels (lanes_arm64.s, tile_arm64.s,
// klanes_arm64.s, q8k_arm64.s).

// Go's assembler has no mnemonic for these A64 instructions, so they are
// encoded here; their operands are register numbers (5 means V5).
#define SDOT(d, n, m)   WORD $(0x4e809400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S += 4-byte dots of Vn.16B, Vm.16B
#define SMULL(d, n, m)  WORD $(0x0e20c000 | (m)<<16 | (n)<<5 | (d)) // Vd.8H = Vn.8B · Vm.8B (low halves)
#define SMULL2(d, n, m) WORD $(0x4e20c000 | (m)<<16 | (n)<<5 | (d)) // Vd.8H = Vn.16B · Vm.16B (high halves)
#define SADDLP(d, n)    WORD $(0x4e602800 | (n)<<5 | (d))           // Vd.4S = pair sums of Vn.8H
#define ADDP(d, n, m)   WORD $(0x4ea0bc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = pair sums of Vn.4S, then Vm.4S
#define EOR(d, n, m)    WORD $(0x6e201c00 | (m)<<16 | (n)<<5 | (d)) // Vd.16B = Vn ^ Vm
#define EXT8(d, n, m)   WORD $(0x6e004000 | (m)<<16 | (n)<<5 | (d)) // Vd.16B = bytes 8-15 of Vn, 0-7 of Vm
#define SCVTF(d, n)     WORD $(0x4e21d800 | (n)<<5 | (d))           // Vd.4S = float32(Vn.4S), int32 lanes
#define FADD(d, n, m)   WORD $(0x4e20d400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn + Vm
#define FADDP(d, n)     WORD $(0x7e30d800 | (n)<<5 | (d))           // Sd = Vn.S[0] + Vn.S[1]
#define FMUL(d, n, m)   WORD $(0x6e20dc00 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn · Vm
#define FABS(d, n)      WORD $(0x4ea0f800 | (n)<<5 | (d))           // Vd.4S = |Vn|
#define FMAX(d, n, m)   WORD $(0x4e20f400 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = max(Vn, Vm)
#define FMAXV(d, n)     WORD $(0x6e30f800 | (n)<<5 | (d))           // Sd = max of Vn.4S
#define FCVTAS(d, n)    WORD $(0x4e21c800 | (n)<<5 | (d))           // Vd.4S = int32(Vn), halves away from zero
#define FCVTNS(d, n)    WORD $(0x4e21a800 | (n)<<5 | (d))           // Vd.4S = int32(Vn), halves to even
#define SMLAL(d, n, m)  WORD $(0x0e208000 | (m)<<16 | (n)<<5 | (d)) // Vd.8H += Vn.8B · Vm.8B (low halves)
#define SMLAL2(d, n, m) WORD $(0x4e208000 | (m)<<16 | (n)<<5 | (d)) // Vd.8H += Vn.16B · Vm.16B (high halves)
#define FCVTL(d, n)     WORD $(0x0e217800 | (n)<<5 | (d))           // Vd.4S = float32(Vn.4H), F16 lanes 0-3
#define FCVTL2(d, n)    WORD $(0x4e217800 | (n)<<5 | (d))           // Vd.4S = float32(Vn.8H), F16 lanes 4-7
#define SMULLH(d, n, m)  WORD $(0x0e60c000 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn.4H · Vm.4H (low halves)
#define SMULL2H(d, n, m) WORD $(0x4e60c000 | (m)<<16 | (n)<<5 | (d)) // Vd.4S = Vn.8H · Vm.8H (high halves)
#define SXTL(d, n)       WORD $(0x0f08a400 | (n)<<5 | (d))           // Vd.8H = int16(Vn.8B), bytes 0-7
#define SXTL2(d, n)      WORD $(0x4f08a400 | (n)<<5 | (d))           // Vd.8H = int16(Vn.16B), bytes 8-15
#define SXTLH(d, n)      WORD $(0x0f10a400 | (n)<<5 | (d))           // Vd.4S = int32(Vn.4H), halves 0-3
#define SXTL2H(d, n)     WORD $(0x4f10a400 | (n)<<5 | (d))           // Vd.4S = int32(Vn.8H), halves 4-7

// Float64 lanes and saturating narrows (q8k_arm64.s); the suffix names
// the source lanes.
#define FCVTLS(d, n)     WORD $(0x0e617800 | (n)<<5 | (d))           // Vd.2D = float64(Vn.2S), lanes 0-1
#define FCVTL2S(d, n)    WORD $(0x4e617800 | (n)<<5 | (d))           // Vd.2D = float64(Vn.4S), lanes 2-3
#define FMULD(d, n, m)   WORD $(0x6e60dc00 | (m)<<16 | (n)<<5 | (d)) // Vd.2D = Vn · Vm
#define FCVTNSD(d, n)    WORD $(0x4e61a800 | (n)<<5 | (d))           // Vd.2D = int64(Vn.2D), halves to even
#define SQXTND(d, n)     WORD $(0x0ea14800 | (n)<<5 | (d))           // Vd.2S = int32(Vn.2D) saturated, upper half zeroed
#define SQXTN2D(d, n)    WORD $(0x4ea14800 | (n)<<5 | (d))           // Vd.S[2-3] = int32(Vn.2D) saturated
#define SQXTNS(d, n)     WORD $(0x0e614800 | (n)<<5 | (d))           // Vd.4H = int16(Vn.4S) saturated, upper half zeroed
#define SQXTN2S(d, n)    WORD $(0x4e614800 | (n)<<5 | (d))           // Vd.H[4-7] = int16(Vn.4S) saturated
#define SQXTNH(d, n)     WORD $(0x0e214800 | (n)<<5 | (d))           // Vd.8B = int8(Vn.8H) saturated, upper half zeroed
#define SQXTN2H(d, n)    WORD $(0x4e214800 | (n)<<5 | (d))           // Vd.B[8-15] = int8(Vn.8H) saturated

// The by-element forms take lane i of Vm (any of V0-V31): its index is
// split into bits H (11) and L (21), the register into M (20) and Rm.
#define ELEM(m, i) (((m)&15)<<16 | ((m)>>4)<<20 | ((i)&1)<<21 | ((i)>>1)<<11)
#define SDOTE(d, n, m, i) WORD $(0x4f80e000 | ELEM(m, i) | (n)<<5 | (d)) // Vd.4S += 4-byte dots of Vn.16B with bytes 4i..4i+3 of Vm
#define FMULE(d, n, m, i) WORD $(0x4f809000 | ELEM(m, i) | (n)<<5 | (d)) // Vd.4S = Vn.4S · Vm.S[i]
#define MLAE(d, n, m, i)  WORD $(0x6f800000 | ELEM(m, i) | (n)<<5 | (d)) // Vd.4S += Vn.4S · Vm.S[i], int32

// Lane sums: SUMS(d, x, y) sets the int32 lanes of Vd to the sums of four
// consecutive products of the signed bytes of Vx and Vy (V25-V26 scratch).
// Both are exact (products fit in 16 bits, -128·-128 included), so both
// give the same bits.
#define SDOT_SUMS(d, x, y) EOR(d, d, d); SDOT(d, x, y)
#define NEON_SUMS(d, x, y) \
	SMULL(25, x, y); SMULL2(26, x, y); SADDLP(25, 25); SADDLP(26, 26); ADDP(d, 25, 26)

// F16 loads the F16 at p into F register f as a float32 and steps p past it.
#define F16(p, f) MOVHU.P 2(p), R9; FMOVS R9, f; FCVTHS f, f

// HSUM leaves in Flo the sum of the 8 lanes of Vlo, Vhi in the order of
// ggml's hsum_float_8: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
#define HSUM(lo, hi) FADD(lo, lo, hi); EXT8(hi, lo, lo); FADD(lo, lo, hi); FADDP(lo, lo)

// ZERO8 zeroes V0-V7, the kernels' float accumulators.
#define ZERO8 \
	VEOR V0.B16, V0.B16, V0.B16; VEOR V1.B16, V1.B16, V1.B16; \
	VEOR V2.B16, V2.B16, V2.B16; VEOR V3.B16, V3.B16, V3.B16; \
	VEOR V4.B16, V4.B16, V4.B16; VEOR V5.B16, V5.B16, V5.B16; \
	VEOR V6.B16, V6.B16, V6.B16; VEOR V7.B16, V7.B16, V7.B16
