package quant

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// q8Rows returns rows that exercise the Q8_0 quantiser: every magnitude
// from float32 subnormals to near the largest float32, exact halves,
// zeros and negative zeros.
func q8Rows(rng *rand.Rand) [][]float32 {
	rows := [][]float32{{math.MaxFloat32, -math.MaxFloat32, 1, -1, 29: 0x1p-149, 31: 0}}
	for e := -149; e <= 121; e += 5 {
		x := randomRow(rng, 32*(1+rng.IntN(8)))
		for i := range x {
			x[i] = float32(math.Ldexp(float64(x[i]), e+rng.IntN(3)))
		}
		rows = append(rows, x)
	}
	halves := make([]float32, 64)
	halves[0], halves[32] = 127, -127 // d = 1: x·id = x
	for i := 1; i < 32; i++ {
		halves[i] = float32(rng.IntN(253)-126) + 0.5
		halves[32+i] = float32(rng.IntN(3)-1) * 0.5
	}
	zeros := make([]float32, 64)
	for i := range zeros {
		zeros[i] = float32(math.Copysign(0, float64(1-2*(i%2))))
	}
	zeros[40] = 1e-38 // amax/127 is tiny: 1/d overflows
	return append(rows, halves, zeros)
}

// Every kernel set quantises bit for bit as the block encoders, with both
// rounding rules.
func TestQuantizeQ8_0Kernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, x := range q8Rows(rng) {
		for _, enc := range []struct {
			name  string
			block func(x []float32, b []byte)
			rows  func(ks laneKernels) func(x []float32, dst []byte)
		}{
			{"portable", quantQ8_0, func(ks laneKernels) func([]float32, []byte) { return ks.quantizeQ8_0 }},
			{"lanes", quantQ8_0Lanes, func(ks laneKernels) func([]float32, []byte) { return ks.quantizeQ8_0Lanes }},
		} {
			want := make([]byte, len(x)/32*34)
			for i := 0; i < len(x)/32; i++ {
				enc.block(x[32*i:32*i+32], want[34*i:34*i+34])
			}
			for _, ks := range kernelSets() {
				got := make([]byte, len(want))
				enc.rows(ks)(x, got)
				require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got), "%s %s: amax %g", ks.name, enc.name, absMax(x))
			}
		}
	}
}

// The two rounding rules give the same scales and differ by one in quants
// whose scaled value is within a few ulps of a half: often in blocks built
// to put every value there, almost never in ordinary activations.
func TestQuantizeQ8_0LanesDiffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	const nb = 4000
	x := randomRow(rng, 32*nb)
	for i := 0; i < nb/2; i++ {
		blk := x[32*i : 32*i+32]
		amax := float32(math.Ldexp(1+rng.Float64(), rng.IntN(20)-10))
		blk[0] = amax
		for j := 1; j < 32; j++ {
			blk[j] = (float32(rng.IntN(254)-127) + 0.5) * (amax / 127)
		}
	}
	portable, lanes := make([]byte, nb*34), make([]byte, nb*34)
	require.NoError(t, QuantizeRow(Q8_0, x, portable))
	require.NoError(t, QuantizeQ8_0Lanes(x, lanes))
	diffs := [2]int{}
	for i := 0; i < nb; i++ {
		blk := x[32*i : 32*i+32]
		p, l := portable[34*i:34*i+34], lanes[34*i:34*i+34]
		require.Equal(t, p[:2], l[:2], "block %d scale", i)
		id := 127 / absMax(blk)
		for j := range blk {
			if p[2+j] == l[2+j] {
				continue
			}
			diffs[i*2/nb]++
			v := float64(blk[j] * id)
			require.Equal(t, 1.0, math.Abs(float64(int8(p[2+j]))-float64(int8(l[2+j]))), "block %d quant %d", i, j)
			require.InDelta(t, 0.5, math.Abs(v-math.Trunc(v)), 4*math.Abs(v)*0x1p-23, "block %d quant %d: x·id = %v is not near a half", i, j, v)
		}
	}
	t.Logf("quants that differ: %d of %d near halves, %d of %d ordinary", diffs[0], 16*nb, diffs[1], 16*nb)
	assert.Positive(t, diffs[0], "near halves")
	assert.Less(t, diffs[1], 16*nb/10000, "ordinary activations")
}
