package quant

import (
	"encoding/binary"
	"math"
)

// groupMaxEps is ggml's threshold below which a group counts as all zero.
const groupMaxEps = 1e-15

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

// makeQKX2 fits x ≈ scale·L - min with 0 ≤ L ≤ nmax by weighted least
// squares, trying nstep+1 candidate inverse scales around nmax/(max-min)
// (ggml's make_qkx2_quants with use_mad = false). It fills L and returns
// the scale and the (non-negative) min to subtract.
func makeQKX2(x, w []float32, nmax int, L, aux []uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	n := len(x)
	mn, mx := x[0], x[0]
	sumW := w[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		clear(L[:n])
		return 0, -mn
	}
	iscale := float32(nmax) / (mx - mn)
	scale = 1 / iscale
	var bestErr float32
	for i := 0; i < n; i++ {
		l := max(0, min(nmax, nearestInt(iscale*(x[i]-mn))))
		L[i] = uint8(l)
		diff := float32(scale*float32(l)) + mn - x[i]
		bestErr += float32(w[i] * float32(diff*diff))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(float32(is)*rdelta) + float32(nmax)) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := max(0, min(nmax, nearestInt(iscale*(x[i]-mn))))
			aux[i] = uint8(l)
			wl := float32(w[i] * float32(l))
			sumL += wl
			sumL2 += float32(wl * float32(l))
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if !(D > 0) {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var e float32
		for i := 0; i < n; i++ {
			diff := float32(thisScale*float32(aux[i])) + thisMin - x[i]
			e += float32(w[i] * float32(diff*diff))
		}
		if e < bestErr {
			copy(L[:n], aux[:n])
			bestErr, scale, mn = e, thisScale, thisMin
		}
	}
	return scale, -mn
}

// makeQX fits x ≈ scale·(L - nmax) with L in 0..2·nmax-1, weighting each
// element by x² and trying 19 inverse scales around -nmax/max (ggml's
// make_qx_quants with rmse_type 1 and no importance weights).
func makeQX(x []float32, nmax int, L []int8) float32 {
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	fit := func(iscale float32) (sumLX, sumL2 float32) {
		for _, v := range x {
			l := float32(max(-nmax, min(nmax-1, nearestInt(iscale*v))))
			w := v * v
			sumLX += float32(float32(w*v) * l)
			sumL2 += float32(float32(w*l) * l)
		}
		return sumLX, sumL2
	}
	store := func(iscale float32) {
		for i, v := range x {
			L[i] = int8(nmax + max(-nmax, min(nmax-1, nearestInt(iscale*v))))
		}
	}
	iscale := -float32(nmax) / maxv
	sumLX, sumL2 := fit(iscale)
	store(iscale)
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = fit(iscale)
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			store(iscale)
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

// quantKScales quantises one 256-element super-block for Q4_K (nmax 15) or
// Q5_K (nmax 31): it fits a scale and min per 32 elements, stores d, dmin
// and the 12 packed 6-bit scale bytes into b, and returns the quants in L.
func quantKScales(x []float32, b []byte, nmax int, rmin float32, nstep int, L *[QK_K]uint8) {
	var scales, mins [QK_K / 32]float32
	var weights [32]float32
	var aux [32]uint8
	var maxScale, maxMin float32
	for j := 0; j < QK_K/32; j++ {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(xs, weights[:], nmax, L[32*j:32*j+32], aux[:], rmin, 0.1, nstep)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	s := b[q4kScales:q4kQs]
	clear(s)
	for j := 0; j < QK_K/32; j++ {
		ls := min(63, uint8(nearestInt(invScale*scales[j])))
		lm := min(63, uint8(nearestInt(invMin*mins[j])))
		if j < 4 {
			s[j] = ls
			s[j+4] = lm
		} else {
			s[j+4] = ls&0xf | (lm&0xf)<<4
			s[j-4] |= (ls >> 4) << 6
			s[j] |= (lm >> 4) << 6
		}
	}
	putF16(b[0:2], maxScale/63)
	putF16(b[2:4], maxMin/63)
	d, dmin := f16At(b, 0), f16At(b, 2)
	for j := 0; j < QK_K/32; j++ {
		sc, m := scaleMinK4(j, s)
		dj := d * float32(sc)
		if dj == 0 {
			continue
		}
		dm := float32(dmin * float32(m))
		for i, v := range x[32*j : 32*j+32] {
			L[32*j+i] = uint8(max(0, min(nmax, nearestInt((v+dm)/dj))))
		}
	}
}

func quantQ4_K(x []float32, b []byte) {
	var L [QK_K]uint8
	quantKScales(x[:QK_K], b, 15, -1, 20, &L)
	q := b[q4kQs : q4kQs+QK_K/2]
	for j := 0; j < 4; j++ {
		for l := 0; l < 32; l++ {
			q[32*j+l] = L[64*j+l] | L[64*j+l+32]<<4
		}
	}
}

func quantQ5_K(x []float32, b []byte) {
	var L [QK_K]uint8
	quantKScales(x[:QK_K], b, 31, -0.5, 15, &L)
	qh := b[q5kQh:q5kQs]
	ql := b[q5kQs : q5kQs+QK_K/2]
	clear(qh)
	for j := 0; j < 4; j++ {
		m1, m2 := byte(1)<<(2*j), byte(2)<<(2*j)
		for l := 0; l < 32; l++ {
			l1, l2 := L[64*j+l], L[64*j+l+32]
			if l1 > 15 {
				l1 -= 16
				qh[l] |= m1
			}
			if l2 > 15 {
				l2 -= 16
				qh[l] |= m2
			}
			ql[32*j+l] = l1 | l2<<4
		}
	}
}

func quantQ6_K(x []float32, b []byte) {
	x = x[:QK_K]
	var L [QK_K]int8
	var scales [QK_K / 16]float32
	var maxScale, maxAbs float32
	for ib := 0; ib < QK_K/16; ib++ {
		s := makeQX(x[16*ib:16*ib+16], 32, L[16*ib:16*ib+16])
		scales[ib] = s
		if a := abs32(s); a > maxAbs {
			maxAbs, maxScale = a, s
		}
	}
	if maxAbs < groupMaxEps {
		clear(b[:210])
		return
	}
	iscale := -128 / maxScale
	binary.LittleEndian.PutUint16(b[q6kD:], FP32ToFP16(1/iscale))
	sc := b[q6kScales:q6kD]
	for ib := range scales {
		sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
	}
	d := f16At(b, q6kD)
	for j := 0; j < QK_K/16; j++ {
		dj := d * float32(int8(sc[j]))
		if dj == 0 {
			continue
		}
		for i, v := range x[16*j : 16*j+16] {
			L[16*j+i] = int8(max(-32, min(31, nearestInt(v/dj))) + 32)
		}
	}
	for h := 0; h < 2; h++ {
		ql := b[64*h : 64*h+64]
		qh := b[q6kQh+32*h : q6kQh+32*h+32]
		Lh := L[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			q1, q2, q3, q4 := uint8(Lh[l]), uint8(Lh[l+32]), uint8(Lh[l+64]), uint8(Lh[l+96])
			ql[l] = q1&0xf | (q3&0xf)<<4
			ql[l+32] = q2&0xf | (q4&0xf)<<4
			qh[l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
		}
	}
}
