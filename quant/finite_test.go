package quant

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckFiniteFindsTheFirstBadValue(t *testing.T) {
	const n = 512 // two K-quant super-blocks, sixteen 32-blocks
	put16 := func(off int, h uint16) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint16(b[off:], h) }
	}
	const nan16, inf16, negInfBF16 = 0x7e00, 0x7c00, 0xff80
	cases := []struct {
		typ  Type
		edit func([]byte)
		want string
	}{
		{F32, func(b []byte) { binary.LittleEndian.PutUint32(b[4*5:], math.Float32bits(float32(math.NaN()))) }, "element 5 is NaN"},
		{F32, func(b []byte) { binary.LittleEndian.PutUint32(b[4*300:], math.Float32bits(float32(math.Inf(-1)))) }, "element 300 is -Inf"},
		{F16, put16(2*3, inf16), "element 3 is +Inf"},
		{BF16, put16(2*2, negInfBF16), "element 2 is -Inf"},
		{Q4_0, put16(18*2, nan16), "Q4_0 block 2 (elements 64 to 95) has scale d = NaN"},
		{Q8_0, put16(34*15, inf16), "Q8_0 block 15 (elements 480 to 511) has scale d = +Inf"},
		{Q4_K, put16(144+2, nan16), "Q4_K block 1 (elements 256 to 511) has scale dmin = NaN"},
		{Q5_K, put16(0, inf16), "Q5_K block 0 (elements 0 to 255) has scale d = +Inf"},
		{Q6_K, put16(210+208, nan16), "Q6_K block 1 (elements 256 to 511) has scale d = NaN"},
	}
	for _, c := range cases {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(math.Sin(float64(i)))
		}
		size, err := RowBytes(c.typ, n)
		require.NoError(t, err)
		data := make([]byte, size)
		require.NoError(t, QuantizeRow(c.typ, x, data))
		require.NoError(t, CheckFinite(c.typ, data), "%s: finite data passes", c.typ)
		c.edit(data)
		assert.EqualError(t, CheckFinite(c.typ, data), c.want, c.typ.String())
	}
}

func TestCheckFiniteRefusesWhatItCannotCheck(t *testing.T) {
	assert.ErrorContains(t, CheckFinite(Q5_0, make([]byte, 22)), "cannot check Q5_0 data")
	assert.ErrorContains(t, CheckFinite(Q4_0, make([]byte, 20)), "20 bytes are not a whole number of Q4_0 blocks")
	assert.ErrorContains(t, CheckFinite(F32, make([]byte, 6)), "6 bytes are not a whole number of F32 blocks")
	assert.NoError(t, CheckFinite(Q6_K, nil), "no data, nothing to refuse")
}
