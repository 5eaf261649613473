package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFP16ToFP32Values(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},
		{0x0400, 1.0 / (1 << 14)},       // smallest normal
		{0x0001, 1.0 / (1 << 24)},       // smallest subnormal
		{0x03ff, 1023.0 / (1 << 24)},    // largest subnormal
		{0x3555, 0.333251953125},        // 1/3 rounded
		{0x3c01, 1 + 1.0/1024},          // one ulp above 1
		{0x7c00, float32(math.Inf(1))},  // +Inf
		{0xfc00, float32(math.Inf(-1))}, // -Inf
		{0x8001, -1.0 / (1 << 24)},      // negative subnormal
		{0x4248, 3.140625},              // pi rounded
		{0x5640, 100},                   // integer
		{0x1400, 1.0 / 1024},            // 2^-10
	}
	for _, c := range cases {
		assert.Equal(t, math.Float32bits(c.want), math.Float32bits(FP16ToFP32(c.h)), "h=%#04x", c.h)
	}
	assert.Equal(t, uint32(0x80000000), math.Float32bits(FP16ToFP32(0x8000)), "negative zero keeps its sign")
	nan := FP16ToFP32(0x7d23)
	assert.True(t, math.IsNaN(float64(nan)))
	assert.Equal(t, uint32(0x7fc00000|0x123<<13), math.Float32bits(nan), "NaN payload kept and made quiet")
}

func TestFP32ToFP16Rounding(t *testing.T) {
	two := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	cases := []struct {
		name string
		f    float32
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"tie to even below", 1 + two(-11), 0x3c00},
		{"tie to even above", 1 + 3*two(-11), 0x3c02},
		{"just above tie", math.Nextafter32(1+two(-11), 2), 0x3c01},
		{"max half", 65504, 0x7bff},
		{"below overflow tie", 65519.99, 0x7bff},
		{"overflow tie rounds to inf", 65520, 0x7c00},
		{"large", 1e10, 0x7c00},
		{"-large", -1e10, 0xfc00},
		{"+inf", float32(math.Inf(1)), 0x7c00},
		{"-inf", float32(math.Inf(-1)), 0xfc00},
		{"smallest subnormal", two(-24), 0x0001},
		{"half of smallest subnormal ties to zero", two(-25), 0x0000},
		{"above half of smallest subnormal", math.Nextafter32(two(-25), 1), 0x0001},
		{"subnormal tie to even", 3 * two(-25), 0x0002},
		{"subnormal tie to even (odd base)", 5 * two(-25), 0x0002},
		{"largest subnormal rounds up to smallest normal", 1023.5 * two(-24), 0x0400},
		{"smallest normal", two(-14), 0x0400},
		{"tiny", 1e-30, 0x0000},
		{"-tiny", -1e-30, 0x8000},
		{"float32 subnormal", math.Float32frombits(1), 0x0000},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, FP32ToFP16(c.f), "%s (%g)", c.name, c.f)
	}
	h := FP32ToFP16(float32(math.NaN()))
	assert.Equal(t, uint16(0x7c00), h&0x7c00, "NaN exponent")
	assert.NotZero(t, h&0x03ff, "NaN mantissa")
}

// Every half value survives a round trip through float32.
func TestFP16RoundTripExhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := FP16ToFP32(h)
		if math.IsNaN(float64(f)) {
			require.True(t, h&0x7c00 == 0x7c00 && h&0x3ff != 0, "h=%#04x decoded to NaN", h)
			require.True(t, math.IsNaN(float64(FP16ToFP32(FP32ToFP16(f)))))
			continue
		}
		require.Equal(t, h, FP32ToFP16(f), "h=%#04x f=%g", h, f)
	}
}

// For random float32 values the chosen half is a nearest one, and on a tie
// the one with an even mantissa.
func TestFP32ToFP16Nearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50000; i++ {
		// Exponents from deep subnormal to beyond the half range.
		f := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(50)-30))
		h := FP32ToFP16(f)
		got := float64(FP16ToFP32(h))
		if math.IsInf(got, 0) {
			require.GreaterOrEqual(t, math.Abs(float64(f)), 65520.0, "f=%g", f)
			continue
		}
		err := math.Abs(got - float64(f))
		for _, nb := range []uint16{h + 1, h - 1} {
			if nb&0x7c00 == 0x7c00 || (h&0x7fff == 0 && nb == h-1) {
				continue
			}
			other := math.Abs(float64(FP16ToFP32(nb)) - float64(f))
			require.LessOrEqual(t, err, other, "f=%g h=%#04x neighbour %#04x is nearer", f, h, nb)
			if err == other {
				require.Zero(t, h&1, "f=%g tie must pick the even mantissa", f)
			}
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		name string
		bits uint32
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"tie to even below", 0x3f808000, 0x3f80},
		{"tie to even above", 0x3f818000, 0x3f82},
		{"above tie", 0x3f808001, 0x3f81},
		{"below tie", 0x3f807fff, 0x3f80},
		{"max float rounds to inf", 0x7f7fffff, 0x7f80},
		{"+inf", 0x7f800000, 0x7f80},
		{"-inf", 0xff800000, 0xff80},
		{"subnormal kept", 0x00010000, 0x0001},
		{"subnormal rounds", 0x00018000, 0x0002},
		{"negative zero", 0x80000000, 0x8000},
		{"signalling NaN made quiet", 0x7f800001, 0x7fc0},
		{"quiet NaN with payload", 0x7fc12345, 0x7fc1},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, FP32ToBF16(math.Float32frombits(c.bits)), c.name)
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToFP32(h)
		require.Equal(t, uint32(h)<<16, math.Float32bits(f))
		if !math.IsNaN(float64(f)) {
			require.Equal(t, h, FP32ToBF16(f), "h=%#04x", h)
		}
	}
}
