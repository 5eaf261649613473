package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func halfRow(t Type, vals []float32) []byte {
	w := make([]byte, 2*len(vals))
	for i, v := range vals {
		h := FP32ToFP16(v)
		if t == BF16 {
			h = FP32ToBF16(v)
		}
		binary.LittleEndian.PutUint16(w[2*i:], h)
	}
	return w
}

var halfDots = map[Type][2]func(w []byte, x []float32) float32{
	F16:  {DotF16Vec, DotF16TinyBLAS},
	BF16: {DotBF16Vec, DotBF16TinyBLAS},
}

// orderDot is the dot (order 0: vec, 1: tinyBLAS) of a row of n elements
// whose products are given by kind per element: 'P' = 2^20, 'N' = −2^20,
// 's' = 2^-8 (lost when added to ±2^20 in float32), anything else 0.
func orderDot(t Type, order, n int, kinds map[int]byte) float32 {
	w, x := make([]float32, n), make([]float32, n)
	for i, k := range kinds {
		switch k {
		case 'P':
			w[i], x[i] = 1024, 1024
		case 'N':
			w[i], x[i] = -1024, 1024
		case 's':
			w[i], x[i] = 1.0/16, 1.0/16
		}
	}
	return halfDots[t][order](halfRow(t, w), x)
}

// The orders are ggml's: checked on rows whose float32 sum depends on the
// order, because 2^-8 survives only when ±2^20 cancel first.
func TestHalfDotOrders(t *testing.T) {
	const s, vec, tiny = 1.0 / 256, 0, 1
	for _, typ := range []Type{F16, BF16} {
		// tinyBLAS: one accumulator lane per element mod 8, hsum as
		// (l0+l4 + l2+l6) + (l1+l5 + l3+l7).
		require.Equal(t, float32(0), orderDot(typ, tiny, 8, map[int]byte{0: 'P', 4: 's', 2: 'N'}), "%s", typ)
		require.Equal(t, float32(s), orderDot(typ, tiny, 8, map[int]byte{0: 'P', 4: 'N', 2: 's'}), "%s", typ)
		require.Equal(t, float32(0), orderDot(typ, tiny, 8, map[int]byte{0: 'P', 1: 'N', 2: 's'}), "%s", typ)
		// Lanes accumulate over steps of 8.
		require.Equal(t, float32(0), orderDot(typ, tiny, 16, map[int]byte{0: 'P', 8: 's', 1: 'N'}), "%s", typ)

		// vec_dot: accumulators a0..a3 take elements 8j+l of each step
		// of 32 and reduce lane-wise as (a0+a2) + (a1+a3).
		require.Equal(t, float32(0), orderDot(typ, vec, 32, map[int]byte{0: 'P', 16: 's', 8: 'N'}), "%s", typ)
		require.Equal(t, float32(s), orderDot(typ, vec, 32, map[int]byte{0: 'P', 16: 'N', 8: 's'}), "%s", typ)
		// Leftovers past the last full step are added in float64.
		require.Equal(t, float32(s), orderDot(typ, vec, 40, map[int]byte{0: 'P', 33: 's', 16: 'N'}), "%s", typ)
	}
	// The lanes' final reduction differs: F16 (GGML_F32x8_REDUCE) adds
	// lanes (0+4 + 1+5) + (2+6 + 3+7); BF16 like tinyBLAS.
	lanes := map[int]byte{0: 'P', 1: 'N', 2: 's'}
	require.Equal(t, float32(s), orderDot(F16, vec, 32, lanes))
	require.Equal(t, float32(0), orderDot(BF16, vec, 32, lanes))
}

// randomHalfRow returns n weights of type t with random bits (finite:
// subnormals and the largest values included) and n activations rounded
// to t.
func randomHalfRow(rng *rand.Rand, t Type, n int) ([]byte, []float32) {
	w := make([]byte, 2*n)
	x := make([]float32, n)
	for i := range x {
		h := uint16(rng.Uint32())
		for t == F16 && h&0x7c00 == 0x7c00 || t == BF16 && h&0x7f80 == 0x7f80 {
			h = uint16(rng.Uint32())
		}
		binary.LittleEndian.PutUint16(w[2*i:], h)
		v := float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(20)-10))
		if t == F16 {
			x[i] = FP16ToFP32(FP32ToFP16(v))
		} else {
			x[i] = BF16ToFP32(FP32ToBF16(v))
		}
	}
	return w, x
}

// Every kernel set computes the four orders bit for bit as the Go
// emulation does, on rows with leftovers past the steps of 32.
func TestHalfDotsBitExact(t *testing.T) {
	for _, ks := range halfKernelSets() {
		t.Logf("half-dot set %s", ks.name)
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for trial := 0; trial < 200; trial++ {
		for _, typ := range []Type{F16, BF16} {
			n := 8 * (1 + rng.IntN(70))
			if trial%20 == 0 {
				n = 4096
			}
			w, x := randomHalfRow(rng, typ, n)
			np := n &^ 31
			pick := func(ks kLaneKernels) (vec, tiny func(w []byte, x []float32) float32) {
				if typ == BF16 {
					return ks.half.bf16Vec, ks.half.bf16Tiny
				}
				return ks.half.f16Vec, ks.half.f16Tiny
			}
			wantVec, wantTiny := pick(goKLaneKernels)
			for _, ks := range halfKernelSets() {
				vec, tiny := pick(ks)
				sameFloats(t, []float32{wantTiny(w, x)}, []float32{tiny(w, x)}, "%s %s tinyBLAS, n %d", ks.name, typ, n)
				if np > 0 {
					sameFloats(t, []float32{wantVec(w[:2*np], x[:np])}, []float32{vec(w[:2*np], x[:np])}, "%s %s vec, n %d", ks.name, typ, n)
				}
			}
			// The exported forms add the leftovers to the same sums.
			var sum float64
			if np > 0 {
				sum = float64(wantVec(w[:2*np], x[:np]))
			}
			for k := np; k < n; k++ {
				sum += float64(halfLoader(typ)(w, k) * x[k])
			}
			sameFloats(t, []float32{float32(sum)}, []float32{halfDots[typ][0](w, x)}, "%s exported vec, n %d", typ, n)
			sameFloats(t, []float32{wantTiny(w, x)}, []float32{halfDots[typ][1](w, x)}, "%s exported tinyBLAS, n %d", typ, n)
		}
	}
}

// archHalfKernelSets are this architecture's half-dot sets that no
// K-quant set carries (amd64: AVX2 where AVX-512 replaced it); filled in
// by the architecture's tests.
var archHalfKernelSets []kLaneKernels

// halfKernelSets are the K-quant sets (whose half field the dots use) and
// the architecture's other half sets, each tested against the emulation.
func halfKernelSets() []kLaneKernels {
	return append(kKernelSets(), archHalfKernelSets...)
}

func halfLoader(t Type) func(w []byte, i int) float32 {
	if t == BF16 {
		return loadBF16
	}
	return loadF16
}

// The orders differ from the portable float64 sums only by float32
// rounding, and reproduce them on exact rows.
func TestHalfDotsNearPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	portable := map[Type]func(w []byte, x []float32) float32{F16: DotF16F32, BF16: DotBF16F32}
	for trial := 0; trial < 100; trial++ {
		for _, typ := range []Type{F16, BF16} {
			n := 8 * (1 + rng.IntN(100))
			_, x := randomHalfRow(rng, typ, n)
			w := halfRow(typ, randomRow(rng, n))
			var mag float64
			for i := range x {
				mag += math.Abs(float64(halfLoader(typ)(w, i) * x[i]))
			}
			want := portable[typ](w, x)
			for order, dot := range halfDots[typ] {
				assert.InDelta(t, float64(want), float64(dot(w, x)), float64(n)*0x1p-23*mag+1e-38, "%s order %d, n %d", typ, order, n)
			}
		}
	}
}

func TestHalfDotPanics(t *testing.T) {
	assert.PanicsWithValue(t, "quant: tinyBLAS dot of F16 needs a row length that is a multiple of 8",
		func() { DotF16TinyBLAS(make([]byte, 20), make([]float32, 10)) })
	assert.PanicsWithValue(t, "quant: dot BF16·F32: 6 weight bytes for 4 activations, want 8",
		func() { DotBF16Vec(make([]byte, 6), make([]float32, 4)) })
	assert.Equal(t, float32(0), DotBF16TinyBLAS(nil, nil))
	assert.Equal(t, float32(0), DotF16Vec(nil, nil))
}
