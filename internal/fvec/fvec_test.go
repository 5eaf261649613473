package fvec

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/quant"
)

// archKernelSets are the assembly sets of this architecture that the CPU
// runs besides the best one (amd64: AVX2 where AVX-512 is picked); filled
// in by the architecture's tests.
var archKernelSets []kernelSet

// kernelSets returns the portable set and, where the CPU has them, the
// assembly sets: every set must compute the same bits.
func kernelSets() []kernelSet {
	sets := []kernelSet{goKernels}
	for _, set := range append([]kernelSet{bestKernels()}, archKernelSets...) {
		if !slices.ContainsFunc(sets, func(s kernelSet) bool { return s.name == set.name }) {
			sets = append(sets, set)
		}
	}
	return sets
}

// using makes set the active one until the test ends.
func using(t *testing.T, set kernelSet) {
	saved := active
	active = set
	t.Cleanup(func() { active = saved })
}

// testLengths are 0..67 (every tail of every block size) and a few long
// rows of odd length.
func testLengths() []int {
	ns := make([]int, 0, 72)
	for n := 0; n <= 67; n++ {
		ns = append(ns, n)
	}
	return append(ns, 128, 1000, 4099)
}

// randRow returns n values of mixed sign and magnitude, starting at an
// offset of 0..3 elements into a larger slice, so that rows are unaligned.
func randRow(rng *rand.Rand, n int) []float32 {
	off := rng.IntN(4)
	x := make([]float32, n+off)
	for i := range x {
		x[i] = float32(math.Ldexp(rng.NormFloat64(), rng.IntN(9)-4))
	}
	return x[off:]
}

func randHalfRow(rng *rand.Rand, n int) []uint16 {
	off := rng.IntN(4)
	x := make([]uint16, n+off)
	for i := range x {
		x[i] = quant.FP32ToFP16(float32(rng.NormFloat64()))
	}
	return x[off:]
}

// outputs runs every kernel on one set of inputs and returns what each
// produced, keyed by kernel.
func outputs(n int, seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	x, y, h := randRow(rng, n), randRow(rng, n), randHalfRow(rng, n)
	a := float32(rng.NormFloat64())
	out := map[string][]float32{
		"Dot":    {Dot(x, y)},
		"DotF16": {DotF16(x, h)},
		"SumSq":  {float32(SumSq(x)), float32(SumSq(x) - float64(float32(SumSq(x))))},
		"Max":    {Max(x)},
	}
	row := func(name string, f func(dst []float32)) {
		dst := append([]float32(nil), y...)
		f(dst)
		out[name] = dst
	}
	row("Axpy", func(dst []float32) { Axpy(a, x, dst) })
	row("AxpyF16", func(dst []float32) { AxpyF16(a, h, dst) })
	row("Scale", func(dst []float32) { Scale(dst, x, a) })
	row("Mul", func(dst []float32) { Mul(dst, x, dst) })
	row("Add", func(dst []float32) { Add(dst, dst, x) })
	row("SiLUMul", func(dst []float32) { SiLUMul(dst, x, dst) })
	row("Rotate", func(dst []float32) { Rotate(dst[:n&^1], x[:n&^1], y[:n&^1]) })
	row("ExpSum", func(dst []float32) {
		s := ExpSum(dst, x, Max(x))
		dst = append(dst, float32(s), float32(s-float64(float32(s))))
		out["ExpSum.sum"] = dst[len(dst)-2:]
	})
	return out
}

// TestKernelSetsAgree: the assembly and the portable Go give the same bits
// for every kernel, length and tail (Max may differ in the sign of a zero
// only, which == ignores).
func TestKernelSetsAgree(t *testing.T) {
	sets := kernelSets()
	for _, set := range sets {
		t.Logf("kernel set %s", set.name)
	}
	t.Logf("best %q", bestKernels().name)
	for _, n := range testLengths() {
		for seed := uint64(0); seed < 3; seed++ {
			using(t, goKernels)
			want := outputs(n, seed)
			for _, set := range sets[1:] {
				using(t, set)
				got := outputs(n, seed)
				for name, w := range want {
					require.Equalf(t, w, got[name], "%s, %s, n=%d, seed %d", set.name, name, n, seed)
				}
			}
		}
	}
}

// TestOrders checks the portable bodies against the orders they claim,
// written out independently: Dot against ggml's REDUCE of four
// accumulators register by register, DotF16 and SumSq against exact sums
// within the float32 (float64) rounding of their additions.
func TestOrders(t *testing.T) {
	using(t, goKernels)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range testLengths() {
		x, y, h := randRow(rng, n), randRow(rng, n), randHalfRow(rng, n)
		var acc [4][8]float32
		np := n &^ 31
		for i := 0; i < np; i += 32 {
			for a := range acc {
				for l := range acc[a] {
					acc[a][l] = quant.FMA32(x[i+8*a+l], y[i+8*a+l], acc[a][l])
				}
			}
		}
		// GGML_F32x8_REDUCE, register by register.
		for l := range 8 {
			acc[0][l] += acc[2][l]
			acc[1][l] += acc[3][l]
		}
		for l := range 8 {
			acc[0][l] += acc[1][l]
		}
		var t4 [4]float32
		for l := range t4 {
			t4[l] = acc[0][l] + acc[0][l+4]
		}
		want := (t4[0] + t4[1]) + (t4[2] + t4[3])
		for i := np; i < n; i++ {
			want += float32(x[i] * y[i])
		}
		require.Equal(t, math.Float32bits(want), math.Float32bits(Dot(x, y)), "Dot n=%d", n)

		var exact, sq float64
		for i := range n {
			exact += float64(x[i]) * float64(quant.FP16ToFP32(h[i]))
			sq += float64(x[i] * x[i])
		}
		// Every product is exact (F16 has 11 bits, x 24), so the error is
		// the float32 additions': at most n·2^-24 of Σ|x·y|.
		var mag float64
		for i := range n {
			mag += math.Abs(float64(x[i]) * float64(quant.FP16ToFP32(h[i])))
		}
		require.InDelta(t, exact, float64(DotF16(x, h)), float64(n)*0x1p-24*mag+1e-30, "DotF16 n=%d", n)
		require.InDelta(t, sq, SumSq(x), float64(n)*0x1p-52*sq+1e-300, "SumSq n=%d", n)
	}
}

func TestMaxIgnoresNaN(t *testing.T) {
	for _, set := range kernelSets() {
		using(t, set)
		nan := float32(math.NaN())
		x := []float32{nan, 1, nan, -3, 7, nan, 2, nan, nan, 6, 5, nan, 0, 1, 2, 3, nan}
		require.Equal(t, float32(7), Max(x), set.name)
		require.Equal(t, float32(math.Inf(-1)), Max([]float32{nan, nan, nan, nan, nan, nan, nan, nan, nan}), set.name)
		require.Equal(t, float32(math.Inf(-1)), Max(nil), set.name)
	}
}

func TestRotate(t *testing.T) {
	var x, cs, want []float32
	for _, set := range kernelSets() {
		x, cs, want = x[:0], cs[:0], want[:0]
		using(t, set)
		// Quarter turns of (1, 2) and (3, 4), eight pairs so that both the
		// block and the tail run.
		for k := range 9 {
			c, s := float32(0), float32(1)
			if k%2 == 1 {
				c, s = -1, 0
			}
			x = append(x, 1, 2)
			cs = append(cs, c, s)
			want = append(want, c*1-s*2, s*1+c*2)
		}
		dst := make([]float32, len(x))
		Rotate(dst, x, cs)
		require.Equal(t, want, dst, set.name)
		Rotate(x, x, cs)
		require.Equal(t, want, x, set.name+" in place")
	}
	odd := make([]float32, len(cs)|1)
	require.PanicsWithValue(t, "fvec: Rotate needs whole pairs", func() { Rotate(odd, odd, odd) })
}

// TestSumSqOrder: on squares spread over 2^±80 the float64 partial sums
// round, so every set must add them in sumSqGo's order to agree (the
// rows of TestKernelSetsAgree sum exactly in float64 in any order).
func TestSumSqOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		n := 16 + trial*7
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Ldexp(1+rng.Float64(), rng.IntN(81)-40))
		}
		using(t, goKernels)
		want := SumSq(x)
		for _, set := range kernelSets()[1:] {
			using(t, set)
			require.Equal(t, math.Float64bits(want), math.Float64bits(SumSq(x)), "%s, n=%d", set.name, n)
		}
	}
}

// TestF16Widening: every finite F16 and ±Inf (subnormals included) widens
// to the same float32 in every set, through AxpyF16 (1·h + 0 is h; ==
// ignores the sign of zero) and DotF16 against one-hot rows.
func TestF16Widening(t *testing.T) {
	var h []uint16
	for b := range 1 << 16 {
		if b&0x7c00 != 0x7c00 || b&0x3ff == 0 {
			h = append(h, uint16(b))
		}
	}
	one := make([]float32, 32)
	for _, set := range kernelSets() {
		using(t, set)
		y := make([]float32, len(h))
		AxpyF16(1, h, y)
		for i, b := range h {
			want := quant.FP16ToFP32(b)
			require.Equalf(t, want, y[i], "%s: AxpyF16 of %#04x", set.name, b)
			if i%97 == 0 {
				one[i%32] = 1
				row := make([]uint16, 32)
				row[i%32] = b
				require.Equalf(t, want, DotF16(one, row), "%s: DotF16 of %#04x", set.name, b)
				one[i%32] = 0
			}
		}
	}
}
