package quant

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fmaExact is a·b+c rounded once to float32, computed with math/big.
func fmaExact(a, b, c float32) float32 {
	z := new(big.Float).SetPrec(1000).SetFloat64(float64(a))
	z.Mul(z, new(big.Float).SetFloat64(float64(b)))
	z.Add(z, new(big.Float).SetFloat64(float64(c)))
	if z.Sign() == 0 {
		// big.Float keeps no IEEE signed zeros through a sum; an exact
		// zero sum is -0 only when both terms are -0.
		p := float64(a) * float64(b)
		return float32(p + float64(c))
	}
	f, _ := z.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	// 1.5·(1+2^-23) = 1.5+2^-23+2^-24 is halfway between two float32s; a
	// tiny c decides the rounding, which a float64 sum loses.
	a, b := float32(1.5), math.Float32frombits(0x3f800001)
	for _, c := range []float32{0x1p-80, -0x1p-80, 0x1p-30, -0x1p-30, 0} {
		assert.Equal(t, math.Float32bits(fmaExact(a, b, c)), math.Float32bits(FMA32(a, b, c)), "c = %g", c)
	}
	naive := float32(float64(a)*float64(b) + float64(float32(-0x1p-80)))
	require.NotEqual(t, fmaExact(a, b, -0x1p-80), naive, "the halfway case must defeat a plain float64 sum")

	rng := rand.New(rand.NewPCG(21, 22))
	randF := func(spread int) float32 {
		return float32(math.Ldexp(rng.Float64()+0.5, rng.IntN(2*spread+1)-spread)) * float32(1-2*rng.IntN(2))
	}
	for i := 0; i < 200000; i++ {
		spread := []int{4, 40, 120}[i%3]
		a, b, c := randF(spread), float32(rng.IntN(1<<17)-1<<16), randF(spread)
		if i%5 == 0 {
			// Products near halfway points: a short b times an a with
			// few bits, plus a c of tiny magnitude.
			a = float32(1+rng.IntN(1<<11)) * float32(math.Ldexp(1, rng.IntN(40)-20))
			c = float32(math.Ldexp(float64(1-2*rng.IntN(2)), rng.IntN(60)-80))
		}
		want, got := fmaExact(a, b, c), FMA32(a, b, c)
		require.Equal(t, math.Float32bits(want), math.Float32bits(got), "FMA32(%g, %g, %g)", a, b, c)
	}
	assert.True(t, math.IsInf(float64(FMA32(float32(math.Inf(1)), 2, 1)), 1))
	assert.True(t, math.IsNaN(float64(FMA32(float32(math.Inf(1)), 0, 1))))
}

// laneRef is the lane-order dot product written out plainly, with math/big
// for the fused multiply-adds: the specification the kernels are held to.
// It also returns Σ|d·lane sum|, which bounds float32 rounding errors.
func laneRef(wt Type, w, a []byte) (float32, float64) {
	var acc [8]float32
	var mag float64
	wb := wt.BlockBytes()
	for i := 0; i < len(a)/34; i++ {
		x, y := w[i*wb:(i+1)*wb], a[34*i:34*i+34]
		var qw [32]int32
		for j := range qw {
			if wt == Q8_0 {
				qw[j] = int32(int8(x[2+j]))
			} else {
				qw[j] = int32(x[2+j%16]>>(4*(j/16))&0xf) - 8
			}
		}
		d := FP16ToFP32(binary.LittleEndian.Uint16(x)) * FP16ToFP32(binary.LittleEndian.Uint16(y))
		for l := range acc {
			var s int32
			for j := 4 * l; j < 4*l+4; j++ {
				s += qw[j] * int32(int8(y[2+j]))
			}
			acc[l] = fmaExact(d, float32(s), acc[l])
			mag += math.Abs(float64(d) * float64(s))
		}
	}
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7])), mag
}

// randomScale returns F16 bits of a finite scale of any magnitude:
// subnormals, zero and 65504 included.
func randomScale(rng *rand.Rand) uint16 {
	return uint16(rng.IntN(2))<<15 | uint16(rng.IntN(31))<<10 | uint16(rng.IntN(1024))
}

// randomBlocks returns nb raw blocks of type t (Q4_0 or Q8_0) with random
// finite scales. Some blocks are special: all quants zero, all -128 (Q8_0)
// or the extreme nibbles 0 and 15.
func randomBlocks(rng *rand.Rand, t Type, nb int) []byte {
	bb := t.BlockBytes()
	b := make([]byte, nb*bb)
	for i := 0; i < nb; i++ {
		blk := b[i*bb : (i+1)*bb]
		binary.LittleEndian.PutUint16(blk, randomScale(rng))
		qs := blk[2:]
		switch rng.IntN(8) {
		case 0: // zero quants (Q4_0: nibble 8)
			for j := range qs {
				qs[j] = map[Type]byte{Q4_0: 0x88, Q8_0: 0}[t]
			}
		case 1: // the most negative quant everywhere
			for j := range qs {
				qs[j] = map[Type]byte{Q4_0: 0x00, Q8_0: 0x80}[t]
			}
		case 2: // mixed extremes
			for j := range qs {
				qs[j] = []byte{0x80, 0x7f, 0x0f, 0xf0, 0xff, 0x00}[rng.IntN(6)]
			}
		default:
			for j := range qs {
				qs[j] = byte(rng.IntN(256))
			}
		}
	}
	return b
}

// archKernelSets are the SIMD kernel sets of this architecture that the
// CPU runs, besides the one it uses; lanes_<arch>_test.go fills them in.
var archKernelSets []laneKernels

// kernelSets are the implementations to test: the Go one, the one this
// machine uses and the other ones it runs.
func kernelSets() []laneKernels {
	sets := []laneKernels{goKernels}
	for _, ks := range append([]laneKernels{kernels}, archKernelSets...) {
		if !slices.ContainsFunc(sets, func(s laneKernels) bool { return s.name == ks.name }) {
			sets = append(sets, ks)
		}
	}
	return sets
}

func laneDotOf(ks laneKernels, wt Type) laneDot {
	if wt == Q4_0 {
		return ks.q4_0
	}
	return ks.q8_0
}

// The kernels agree bit for bit with the plain lane-order reference, one
// row at a time, four rows or four tokens at a time, with remainders.
func TestLaneDotsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, wt := range []Type{Q4_0, Q8_0} {
		wb := wt.BlockBytes()
		for trial := 0; trial < 150; trial++ {
			nb := 1 + rng.IntN(12)
			if trial%10 == 0 {
				nb = 128 // a 4096-element row
			}
			n := 32 * nb
			rows, toks := 1+rng.IntN(9), 1+rng.IntN(9)
			w := randomBlocks(rng, wt, rows*nb)
			a := randomBlocks(rng, Q8_0, toks*nb)
			row := func(r int) []byte { return w[r*nb*wb : (r+1)*nb*wb] }
			act := func(i int) []byte { return a[i*nb*34 : (i+1)*nb*34] }
			wantRows := make([]float32, rows)
			for r := range wantRows {
				wantRows[r], _ = laneRef(wt, row(r), act(0))
			}
			wantToks := make([]float32, toks)
			for i := range wantToks {
				wantToks[i], _ = laneRef(wt, row(0), act(i))
			}
			for _, ks := range kernelSets() {
				d := laneDotOf(ks, wt)
				require.Equal(t, math.Float32bits(wantRows[0]), math.Float32bits(d.one(row(0), act(0))),
					"%s %s·Q8_0 trial %d one row: want %g", ks.name, wt, trial, wantRows[0])
				got := make([]float32, rows)
				dotRows(d, wt, got, w, act(0), n)
				requireSameBits(t, wantRows, got, "%s %s·Q8_0 trial %d, %d rows", ks.name, wt, trial, rows)
				got = make([]float32, toks)
				dotTokens(d, wt, got, row(0), a, n)
				requireSameBits(t, wantToks, got, "%s %s·Q8_0 trial %d, %d tokens", ks.name, wt, trial, toks)
			}
		}
	}
}

func requireSameBits(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	for i := range want {
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), append([]any{msg + ": element %d: want %g got %g"}, append(args, i, want[i], got[i])...)...)
	}
}

// Scales from corrupt files (Inf, NaN) give the same non-finite results on
// every implementation.
func TestLaneDotsNonFiniteScales(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for trial := 0; trial < 200; trial++ {
		nb := 1 + rng.IntN(6)
		w, a := randomBlocks(rng, Q8_0, nb), randomBlocks(rng, Q8_0, nb)
		blk := w[34*rng.IntN(nb):]
		binary.LittleEndian.PutUint16(blk, 0x7c00|uint16(rng.IntN(2))<<15|uint16(rng.IntN(2))) // ±Inf or a NaN
		want := dotQ8_0Q8_0Go(w, a)
		got := DotQ8_0Q8_0Lanes(w, a, 32*nb)
		if math.IsNaN(float64(want)) {
			require.True(t, math.IsNaN(float64(got)), "trial %d: want NaN, got %g", trial, got)
			continue
		}
		require.Equal(t, math.Float32bits(want), math.Float32bits(got), "trial %d", trial)
	}
}

// A lane that holds a tiny value and then gets a product halfway between
// two float32s: only an exactly rounded FMA gets the result right.
func TestLaneDotHalfwayProduct(t *testing.T) {
	for _, sign := range []int8{1, -1} {
		w, a := make([]byte, 68), make([]byte, 68)
		// Block 0: scales 2^-24 each, lane 0 holds ±2^-48.
		binary.LittleEndian.PutUint16(w, 0x0001)
		binary.LittleEndian.PutUint16(a, 0x0001)
		w[2], a[2] = 1, byte(sign)
		// Block 1: d = 1+2^-10, lane 0 = (-128)(-128) + 1 = 16385, so the
		// product is 16401+2^-10, halfway between float32s 2^-9 apart.
		binary.LittleEndian.PutUint16(w[34:], 0x3c01)
		binary.LittleEndian.PutUint16(a[34:], 0x3c00)
		w[36], a[36], w[37], a[37] = 0x80, 0x80, 1, 1
		want := float32(16401)
		if sign > 0 {
			want += 0x1p-9
		}
		assert.Equal(t, want, DotQ8_0Q8_0Lanes(w, a, 64), "sign %d", sign)
		assert.Equal(t, want, dotQ8_0Q8_0Go(w, a), "sign %d", sign)
	}
}

// The lane order differs from the portable reference only by float32
// rounding: both sum the same exact block products, so the difference is
// bounded by about 2(nb+3) units of roundoff of Σ|products|.
func TestLaneDotsNearPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, wt := range []Type{Q4_0, Q8_0} {
		portable := map[Type]func(w, a []byte, n int) float32{Q4_0: DotQ4_0Q8_0, Q8_0: DotQ8_0Q8_0}[wt]
		lanes := map[Type]func(w, a []byte, n int) float32{Q4_0: DotQ4_0Q8_0Lanes, Q8_0: DotQ8_0Q8_0Lanes}[wt]
		for trial := 0; trial < 300; trial++ {
			nb := 1 + rng.IntN(160)
			var w, a []byte
			if trial%2 == 0 {
				w, a = randomBlocks(rng, wt, nb), randomBlocks(rng, Q8_0, nb)
			} else {
				// Quantised model-like rows whose blocks vary in scale.
				x, y := randomRow(rng, 32*nb), randomRow(rng, 32*nb)
				for i := range x {
					x[i] *= float32(math.Ldexp(1, int(i/32)%7-3))
				}
				wbytes, _ := RowBytes(wt, int64(len(x)))
				w, a = make([]byte, wbytes), make([]byte, 34*nb)
				require.NoError(t, QuantizeRow(wt, x, w))
				require.NoError(t, QuantizeRow(Q8_0, y, a))
			}
			got, want := lanes(w, a, 32*nb), portable(w, a, 32*nb)
			_, mag := laneRef(wt, w, a)
			tol := 2 * float64(nb+3) * 0x1p-24 * mag
			require.InDelta(t, float64(want), float64(got), tol, "%s trial %d, %d blocks", wt, trial, nb)
		}
	}
}

func TestLaneDotsEmpty(t *testing.T) {
	assert.Equal(t, float32(0), DotQ4_0Q8_0Lanes(nil, nil, 0))
	dst := []float32{7, 7}
	DotQ8_0Q8_0Rows(dst, nil, nil, 0)
	assert.Equal(t, []float32{0, 0}, dst, "empty rows")
}

func TestLaneDotSizePanics(t *testing.T) {
	assert.PanicsWithValue(t, "quant: dot Q4_0·Q8_0 of 64 elements: got 36 weight and 34 activation bytes, want 36 and 68",
		func() { DotQ4_0Q8_0Lanes(make([]byte, 36), make([]byte, 34), 64) })
	assert.PanicsWithValue(t, "quant: dot Q4_0·Q8_0 of 3 rows of 32 elements: got 36 weight and 34 activation bytes, want 54 and 34",
		func() { DotQ4_0Q8_0Rows(make([]float32, 3), make([]byte, 36), make([]byte, 34), 32) })
	assert.PanicsWithValue(t, "quant: dot Q8_0·Q8_0 of 32 elements for 2 tokens: got 34 weight and 34 activation bytes, want 34 and 68",
		func() { DotQ8_0Q8_0Tokens(make([]float32, 2), make([]byte, 34), make([]byte, 34), 32) })
	assert.PanicsWithValue(t, "quant: dot Q8_0·Q8_0: Q8_0 row length 40 is not a multiple of the block size 32",
		func() { DotQ8_0Q8_0Rows(make([]float32, 1), nil, nil, 40) })
}
