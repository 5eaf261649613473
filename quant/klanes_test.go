package quant

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var kLaneDots = map[Type]func(w, a []byte, n int) float32{
	Q4_K: DotQ4_KQ8_KLanes, Q5_K: DotQ5_KQ8_KLanes, Q6_K: DotQ6_KQ8_KLanes,
}

var kPortableDots = map[Type]func(w, a []byte, n int) float32{
	Q4_K: DotQ4_KQ8_K, Q5_K: DotQ5_KQ8_K, Q6_K: DotQ6_KQ8_K,
}

// TestGGMLAVX2KQuants checks the K-quant lane-order dot products bit for
// bit against ggml's AVX2 code on the reference inputs, whole rows and
// super-block by super-block.
func TestGGMLAVX2KQuants(t *testing.T) {
	rec := recordsOf(t, "testdata/ggml_avx2_ref.txt")
	portable := recordsOf(t, "testdata/ggml_ref.txt")
	differs := 0
	for r := 0; r < refRows; r++ {
		act := make([]byte, refN/QK_K*292)
		require.NoError(t, QuantizeRow(Q8_K, refInput(1, r), act))
		for name, typ := range map[string]Type{"q4_K": Q4_K, "q5_K": Q5_K, "q6_K": Q6_K} {
			nb, _ := RowBytes(typ, refN)
			w := make([]byte, nb)
			require.NoError(t, QuantizeRow(typ, refInput(0, r), w))
			want := binary.LittleEndian.Uint32(rec("dot_"+name, r))
			got := kLaneDots[typ](w, act, refN)
			require.Equal(t, want, math.Float32bits(got), "%s row %d: got %g want %g", typ, r, got, math.Float32frombits(want))
			if want != binary.LittleEndian.Uint32(portable("dot_"+name, r)) {
				differs++
			}
			blk, wb := rec("blkdot_"+name, r), typ.BlockBytes()
			for i := 0; i < refN/QK_K; i++ {
				got := kLaneDots[typ](w[i*wb:(i+1)*wb], act[292*i:292*i+292], QK_K)
				want := binary.LittleEndian.Uint32(blk[4*i:])
				require.Equal(t, want, math.Float32bits(got), "%s row %d block %d: got %g want %g",
					typ, r, i, got, math.Float32frombits(want))
			}
		}
	}
	require.NotZero(t, differs, "the AVX2 order must differ from the portable one somewhere, or this test shows nothing")
}

// randomKBlocks returns nb random super-blocks of a K-quant type with
// random finite F16 scales of any magnitude; some blocks have all quants
// and scales at their extremes.
func randomKBlocks(rng *rand.Rand, t Type, nb int) []byte {
	bb := t.BlockBytes()
	b := make([]byte, nb*bb)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for i := 0; i < nb; i++ {
		blk := b[i*bb : (i+1)*bb]
		switch rng.IntN(6) {
		case 0:
			clear(blk)
		case 1:
			for j := range blk {
				blk[j] = 0xff // quants 15, 31 or 63 (Q6_K: 31), scales 63 or -1
			}
		case 2:
			for j := range blk {
				blk[j] = []byte{0x00, 0xff, 0x80, 0x7f}[rng.IntN(4)]
			}
		}
		if t == Q6_K {
			binary.LittleEndian.PutUint16(blk[q6kD:], randomScale(rng))
		} else {
			binary.LittleEndian.PutUint16(blk, randomScale(rng))
			binary.LittleEndian.PutUint16(blk[2:], randomScale(rng))
		}
	}
	return b
}

// randomQ8K returns nb Q8_K blocks with scales of any finite magnitude,
// quants from -128 to 127 and, mostly, the block sums of their quants.
func randomQ8K(rng *rand.Rand, nb int) []byte {
	b := make([]byte, nb*292)
	for i := 0; i < nb; i++ {
		blk := b[292*i : 292*i+292]
		qs := blk[q8kQs:q8kBsums]
		for j := range qs {
			qs[j] = byte(rng.Uint32())
		}
		switch rng.IntN(5) {
		case 0:
			for j := range qs {
				qs[j] = 0x80
			}
		case 1:
			for j := range qs {
				qs[j] = 0x7f
			}
		}
		d := float32(math.Ldexp(rng.Float64()+0.5, rng.IntN(100)-70)) * float32(1-2*rng.IntN(2))
		if rng.IntN(10) == 0 {
			d = 0
		}
		binary.LittleEndian.PutUint32(blk, math.Float32bits(d))
		for j := 0; j < 16; j++ {
			var s int16
			for _, q := range qs[16*j : 16*j+16] {
				s += int16(int8(q))
			}
			if rng.IntN(8) == 0 {
				s = int16(rng.Uint32()) // not a sum: the kernels must agree anyway
			}
			binary.LittleEndian.PutUint16(blk[q8kBsums+2*j:], uint16(s))
		}
	}
	return b
}

var kGoDots = map[Type]func(w, a []byte) float32{Q4_K: dotQ4_KQ8_KGo, Q5_K: dotQ5_KQ8_KGo, Q6_K: dotQ6_KQ8_KGo}

func kLaneDotOf(ks kLaneKernels, t Type) laneDot {
	return map[Type]laneDot{Q4_K: ks.q4K, Q5_K: ks.q5K, Q6_K: ks.q6K}[t]
}

// archKLaneKernelSets are the K-quant kernel sets of this architecture
// that the CPU runs, besides the one it uses; klanes_<arch>_test.go fills
// them in.
var archKLaneKernelSets []kLaneKernels

// kKernelSets are the implementations to test: the Go one, the one this
// machine uses and the other ones it runs.
func kKernelSets() []kLaneKernels {
	sets := []kLaneKernels{goKLaneKernels}
	for _, ks := range append([]kLaneKernels{kKernels}, archKLaneKernelSets...) {
		if !slices.ContainsFunc(sets, func(s kLaneKernels) bool { return s.name == ks.name }) {
			sets = append(sets, ks)
		}
	}
	return sets
}

// sameFloats is requireSameBits, except that any NaN matches any NaN
// (huge scales overflow to ±Inf, and Inf·0 is a NaN whose bits the
// hardware picks).
func sameFloats(t *testing.T, want, got []float32, msg string, args ...any) {
	t.Helper()
	for i := range want {
		if math.IsNaN(float64(want[i])) && math.IsNaN(float64(got[i])) {
			continue
		}
		require.Equal(t, math.Float32bits(want[i]), math.Float32bits(got[i]), append([]any{msg + ": element %d: want %g got %g"}, append(args, i, want[i], got[i])...)...)
	}
}

// Every kernel set agrees bit for bit with the Go emulation, one row at a
// time, four rows or four tokens at a time, with remainders.
func TestKLaneDotsBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, wt := range []Type{Q4_K, Q5_K, Q6_K} {
		wb := wt.BlockBytes()
		for trial := 0; trial < 120; trial++ {
			nb := 1 + rng.IntN(6)
			if trial%20 == 0 {
				nb = 16 // a 4096-element row
			}
			n := QK_K * nb
			rows, toks := 1+rng.IntN(9), 1+rng.IntN(9)
			w, a := randomKBlocks(rng, wt, rows*nb), randomQ8K(rng, toks*nb)
			row := func(r int) []byte { return w[r*nb*wb : (r+1)*nb*wb] }
			act := func(i int) []byte { return a[i*nb*292 : (i+1)*nb*292] }
			wantRows := make([]float32, rows)
			for r := range wantRows {
				wantRows[r] = kGoDots[wt](row(r), act(0))
			}
			wantToks := make([]float32, toks)
			for i := range wantToks {
				wantToks[i] = kGoDots[wt](row(0), act(i))
			}
			for _, ks := range kKernelSets() {
				d := kLaneDotOf(ks, wt)
				sameFloats(t, wantRows[:1], []float32{d.one(row(0), act(0))}, "%s %s trial %d one row", ks.name, wt, trial)
				got := make([]float32, rows)
				dotRows(d, wt, got, w, act(0), n)
				sameFloats(t, wantRows, got, "%s %s trial %d, %d rows", ks.name, wt, trial, rows)
				got = make([]float32, toks)
				dotTokens(d, wt, got, row(0), a, n)
				sameFloats(t, wantToks, got, "%s %s trial %d, %d tokens", ks.name, wt, trial, toks)
			}
		}
	}
}

// The exported forms reach the kernels with checked sizes.
func TestKLaneDotsExported(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	rowsOf := map[Type]func(dst []float32, w, a []byte, n int){Q4_K: DotQ4_KQ8_KRows, Q5_K: DotQ5_KQ8_KRows, Q6_K: DotQ6_KQ8_KRows}
	toksOf := map[Type]func(dst []float32, w, a []byte, n int){Q4_K: DotQ4_KQ8_KTokens, Q5_K: DotQ5_KQ8_KTokens, Q6_K: DotQ6_KQ8_KTokens}
	for _, wt := range []Type{Q4_K, Q5_K, Q6_K} {
		const nb, rows = 3, 6
		w, a := randomKBlocks(rng, wt, rows*nb), randomQ8K(rng, rows*nb)
		wb := nb * wt.BlockBytes()
		got := make([]float32, rows)
		rowsOf[wt](got, w, a[:292*nb], QK_K*nb)
		for r := range got {
			sameFloats(t, []float32{kGoDots[wt](w[r*wb:(r+1)*wb], a[:292*nb])}, got[r:r+1], "%s rows, row %d", wt, r)
		}
		toksOf[wt](got, w[:wb], a, QK_K*nb)
		for i := range got {
			sameFloats(t, []float32{kGoDots[wt](w[:wb], a[292*nb*i:292*nb*(i+1)])}, got[i:i+1], "%s tokens, token %d", wt, i)
			sameFloats(t, got[i:i+1], []float32{kLaneDots[wt](w[:wb], a[292*nb*i:292*nb*(i+1)], QK_K*nb)}, "%s lanes, token %d", wt, i)
		}
	}
	assert.Equal(t, float32(0), DotQ5_KQ8_KLanes(nil, nil, 0))
	assert.PanicsWithValue(t, "quant: dot Q6_K·Q8_K of 256 elements: got 210 weight and 290 activation bytes, want 210 and 292",
		func() { DotQ6_KQ8_KLanes(make([]byte, 210), make([]byte, 290), QK_K) })
	assert.PanicsWithValue(t, "quant: dot Q4_K·Q8_K of 2 rows of 256 elements: got 144 weight and 292 activation bytes, want 288 and 292",
		func() { DotQ4_KQ8_KRows(make([]float32, 2), make([]byte, 144), make([]byte, 292), QK_K) })
	assert.PanicsWithValue(t, "quant: dot Q5_K·Q8_K: Q5_K row length 100 is not a multiple of the block size 256",
		func() { DotQ5_KQ8_KTokens(make([]float32, 1), nil, nil, 100) })
}

// kMagnitude is Σ|d·scale·q·y| + Σ|dmin·min·bsum| over the blocks: it
// bounds the float32 rounding errors of any order of summation.
func kMagnitude(wt Type, w, a []byte) float64 {
	var mag float64
	var b kBlock
	wb := wt.BlockBytes()
	for i := 0; i < len(a)/292; i++ {
		x, y := w[i*wb:(i+1)*wb], a[292*i:292*i+292]
		var d, dmin float32
		switch wt {
		case Q4_K:
			b.unpackQ4_K(x)
			d, dmin = kScales(x, y)
		case Q5_K:
			b.unpackQ5_K(x)
			d, dmin = kScales(x, y)
		default:
			b.unpackQ6_K(x)
			d = q8KScale(y) * f16At(x, q6kD)
		}
		for e, v := range b.q {
			mag += math.Abs(float64(d) * float64(b.sc[e/16]*v*int32(int8(y[q8kQs+e]))))
		}
		for _, p := range b.minPairs(y) {
			mag += math.Abs(float64(dmin) * float64(p))
		}
	}
	return mag
}

// The lane order differs from the portable reference only by float32
// rounding: both sum the same exact integer products.
func TestKLaneDotsNearPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, wt := range []Type{Q4_K, Q5_K, Q6_K} {
		differ := 0
		for trial := 0; trial < 100; trial++ {
			nb := 1 + rng.IntN(16)
			x, y := randomRow(rng, QK_K*nb), randomRow(rng, QK_K*nb)
			for i := range x {
				x[i] *= float32(math.Ldexp(1, i/32%7-3))
			}
			wbytes, _ := RowBytes(wt, int64(len(x)))
			w, a := make([]byte, wbytes), make([]byte, 292*nb)
			require.NoError(t, QuantizeRow(wt, x, w))
			require.NoError(t, QuantizeRow(Q8_K, y, a))
			got, want := kGoDots[wt](w, a), kPortableDots[wt](w, a, QK_K*nb)
			tol := 2 * float64(nb+8) * 0x1p-24 * kMagnitude(wt, w, a)
			require.InDelta(t, float64(want), float64(got), tol, "%s trial %d, %d blocks", wt, trial, nb)
			if got != want {
				differ++
			}
		}
		require.NotZero(t, differ, "%s: the orders never differed, so this test shows nothing", wt)
	}
}

// QuantizeQ8_KLanes reproduces a GCC build of ggml (FMA-contracted
// reference quantiser) and QuantizeQ8_K the portable one, on activations
// near halves where the two differ.
func TestGGMLQ8_KHalves(t *testing.T) {
	avx2 := recordsOf(t, "testdata/ggml_avx2_ref.txt")
	portable := recordsOf(t, "testdata/ggml_ref.txt")
	for r := 0; r < refRows; r++ {
		got, gotLanes := make([]byte, refN/QK_K*292), make([]byte, refN/QK_K*292)
		require.NoError(t, QuantizeQ8_K(refHalves(r), got))
		require.NoError(t, QuantizeQ8_KLanes(refHalves(r), gotLanes))
		require.Equal(t, hex.EncodeToString(zeroBsumsOfEmptyBlocks(portable("act_q8_K_halves", r))), hex.EncodeToString(got), "portable, row %d", r)
		require.Equal(t, hex.EncodeToString(zeroBsumsOfEmptyBlocks(avx2("act_q8_K_halves", r))), hex.EncodeToString(gotLanes), "fused, row %d", r)
		require.NotEqual(t, got, gotLanes, "row %d: the two roundings must differ here, or this test shows nothing", r)
	}
}

// Blocks whose largest magnitude is so small that -127/max overflows get
// zero quants and sums and a zero scale on every machine (ggml's bit trick
// gives the same), and dot products of 0, not NaN.
func TestQ8_KTinyBlocks(t *testing.T) {
	w := make([]byte, 144)
	binary.LittleEndian.PutUint16(w, 0x3c00)     // d = 1
	binary.LittleEndian.PutUint16(w[2:], 0x3c00) // dmin = 1
	for j := 4; j < 144; j++ {
		w[j] = 0x5a
	}
	for _, tiny := range []float32{1e-45, -1e-45, 1e-38, -3e-37, 1e-40} {
		x := make([]float32, QK_K)
		for i := range x {
			x[i] = tiny * float32(i%7-3) / 3 // x[0] = -tiny comes first of the largest
		}
		for name, quantize := range map[string]func(src []float32, dst []byte) error{"Q8_K": QuantizeQ8_K, "Q8_KLanes": QuantizeQ8_KLanes} {
			a := make([]byte, 292)
			for i := range a {
				a[i] = 0xee // stale bytes must not survive
			}
			require.NoError(t, quantize(x, a), "%s %g", name, tiny)
			require.Equal(t, math.Float32bits(1/(-127/x[0])), binary.LittleEndian.Uint32(a), "%s %g: the scale 1/iscale is a zero", name, tiny)
			require.Equal(t, make([]byte, 288), a[4:], "%s %g: quants and sums", name, tiny)
			assert.Equal(t, float32(0), DotQ4_KQ8_KLanes(w, a, QK_K), "%s %g", name, tiny)
			assert.Equal(t, float32(0), DotQ4_KQ8_K(w, a, QK_K), "%s %g", name, tiny)
		}
	}
}
