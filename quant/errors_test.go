package quant

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRowErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"dequantize unsupported", DequantizeRow(Q2_K, make([]byte, 84), make([]float32, 256)), "Q2_K is not supported"},
		{"dequantize unknown id", DequantizeRow(Type(99), nil, nil), "unknown tensor type id 99"},
		{"dequantize short src", DequantizeRow(Q4_0, make([]byte, 17), make([]float32, 32)), "Q4_0 row of 32 elements needs 18 bytes, got 17"},
		{"dequantize long src", DequantizeRow(F16, make([]byte, 6), make([]float32, 2)), "needs 4 bytes, got 6"},
		{"dequantize partial block", DequantizeRow(Q6_K, make([]byte, 210), make([]float32, 255)), "not a multiple of the block size 256"},
		{"quantize unsupported", QuantizeRow(Q3_K, make([]float32, 256), make([]byte, 110)), "Q3_K is not supported"},
		{"quantize short dst", QuantizeRow(Q4_K, make([]float32, 256), make([]byte, 143)), "Q4_K row of 256 elements needs 144 bytes, got 143"},
		{"quantize partial block", QuantizeRow(Q8_0, make([]float32, 40), make([]byte, 34)), "not a multiple of the block size 32"},
		{"quantize NaN", QuantizeRow(Q8_0, nanRow(32, 5), make([]byte, 34)), "element 5 is NaN"},
		{"quantize Inf", QuantizeQ8_K(infRow(256, 7), make([]byte, 292)), "element 7 is +Inf"},
		{"activation for unsupported weights", QuantizeActivation(Q5_0, make([]float32, 32), make([]byte, 34)), "no dot product for weight type Q5_0"},
		{"activation wrong size", QuantizeActivation(Q6_K, make([]float32, 256), make([]byte, 291)), "Q8_K row of 256 elements needs 292 bytes, got 291"},
		{"float activation with bytes", QuantizeActivation(F16, make([]float32, 8), make([]byte, 16)), "got 16 activation bytes, want 0"},
		{"check dot partial block", CheckDot(Q4_K, 128), "Q4_K row length 128 is not a multiple of the block size 256"},
		{"check dot unsupported", CheckDot(Q8_K, 256), "no dot product for weight type Q8_K"},
	}
	for _, c := range cases {
		require.Error(t, c.err, c.name)
		assert.Contains(t, c.err.Error(), c.want, c.name)
	}
	assert.NoError(t, QuantizeActivation(F32, make([]float32, 8), nil), "float weights need no activation bytes")
	assert.NoError(t, DequantizeRow(Q4_0, nil, nil), "an empty row is valid")
}

func nanRow(n, at int) []float32 {
	x := make([]float32, n)
	x[at] = float32(math.NaN())
	return x
}

func infRow(n, at int) []float32 {
	x := make([]float32, n)
	x[at] = float32(math.Inf(1))
	return x
}

func TestActivationBytes(t *testing.T) {
	assert.Equal(t, 0, ActivationBytes(F32, 4096))
	assert.Equal(t, 0, ActivationBytes(F16, 4096))
	assert.Equal(t, 0, ActivationBytes(BF16, 4096))
	assert.Equal(t, 128*34, ActivationBytes(Q4_0, 4096))
	assert.Equal(t, 128*34, ActivationBytes(Q8_0, 4096))
	for _, typ := range []Type{Q4_K, Q5_K, Q6_K} {
		assert.Equal(t, 16*292, ActivationBytes(typ, 4096), "%s", typ)
	}
	assert.Equal(t, 0, ActivationBytes(Q6_K, 100), "not a whole number of blocks")
	assert.Equal(t, 0, ActivationBytes(Q2_K, 256), "no dot product")

	want := map[Type]Type{F32: F32, F16: F16, BF16: BF16, Q4_0: Q8_0, Q8_0: Q8_0, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K}
	for w, a := range want {
		assert.Equal(t, a, VecDotType(w), "%s", w)
	}
}

// Misuse of the dot products (sizes that disagree) panics with a message
// naming the sizes, rather than reading out of bounds or returning garbage.
func TestDotSizePanics(t *testing.T) {
	assert.PanicsWithValue(t, "quant: dot Q4_0·Q8_0 of 64 elements: got 36 weight and 34 activation bytes, want 36 and 68",
		func() { DotQ4_0Q8_0(make([]byte, 36), make([]byte, 34), 64) })
	assert.PanicsWithValue(t, "quant: dot F16·F32: 6 weight bytes for 4 activations, want 8",
		func() { DotF16F32(make([]byte, 6), make([]float32, 4)) })
	assert.PanicsWithValue(t, "quant: dot Q6_K·Q8_K of 256 elements: got 210 weight and 0 activation bytes, want 210 and 292",
		func() { DotRow(Q6_K, make([]byte, 210), nil, nil) })
	assert.PanicsWithValue(t, "quant: dot Q4_K·Q8_K: Q4_K row length 100 is not a multiple of the block size 256",
		func() { DotQ4_KQ8_K(nil, nil, 100) })
	assert.PanicsWithValue(t, "quant: DotRow: no dot product for weight type Q2_K",
		func() { DotRow(Q2_K, make([]byte, 84), nil, nil) })
}
