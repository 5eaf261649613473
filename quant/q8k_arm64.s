//go:build !purego

#include "textflag.h"
#include "neon_arm64.h"

// The exact products iscale·x of Q8_K quantisation, rounded half to even:
// two float32s multiply exactly in float64 (FCVTL, FMUL), FCVTNS rounds
// to nearest with ties to even, and the saturating narrows to int8 give
// min(127, q): encodeQ8_K keeps the products within ±127.5, so the low
// saturation at -128 never acts. V31 holds iscale as float64 in both
// lanes, V0-V3 the 16 floats, V4-V11 their products, V12-V18 the narrows.

// WIDEN_MUL_ROUND turns the four floats of Vs into the rounded int64
// products in Vlo (lanes 0-1) and Vhi (lanes 2-3).
#define WIDEN_MUL_ROUND(s, lo, hi) \
	FCVTLS(lo, s); FCVTL2S(hi, s); FMULD(lo, lo, 31); FMULD(hi, hi, 31); FCVTNSD(lo, lo); FCVTNSD(hi, hi)

// func roundExactProductsNEON(x *float32, qs *byte, iscale float32, n int)
TEXT ·roundExactProductsNEON(SB), NOSPLIT, $0-32
	MOVD x+0(FP), R0
	MOVD qs+8(FP), R1
	FMOVS iscale+16(FP), F31
	FCVTSD F31, F31
	FMOVD F31, R3
	VDUP R3, V31.D2
	MOVD n+24(FP), R2
	LSR $4, R2

loop:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	WIDEN_MUL_ROUND(0, 4, 5)
	WIDEN_MUL_ROUND(1, 6, 7)
	WIDEN_MUL_ROUND(2, 8, 9)
	WIDEN_MUL_ROUND(3, 10, 11)
	SQXTND(12, 4); SQXTN2D(12, 5)
	SQXTND(13, 6); SQXTN2D(13, 7)
	SQXTND(14, 8); SQXTN2D(14, 9)
	SQXTND(15, 10); SQXTN2D(15, 11)
	SQXTNS(16, 12); SQXTN2S(16, 13)
	SQXTNS(17, 14); SQXTN2S(17, 15)
	SQXTNH(18, 16); SQXTN2H(18, 17)
	VST1.P [V18.B16], 16(R1)
	SUBS $1, R2
	BNE loop
	RET
