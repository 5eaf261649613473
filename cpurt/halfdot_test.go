package cpurt

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/quant"
)

// halfDotFunc hands each type and order to quant's dot in that order.
func TestHalfDotFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dots := map[quant.Type][2]func(w []byte, x []float32) float32{
		quant.F16:  {quant.DotF16Vec, quant.DotF16TinyBLAS},
		quant.BF16: {quant.DotBF16Vec, quant.DotBF16TinyBLAS},
	}
	orderShows := map[quant.Type]bool{}
	for trial := 0; trial < 20; trial++ {
		x := make([]float32, 200)
		w := make([]byte, 2*len(x))
		for i := range x {
			x[i] = quant.BF16ToFP32(quant.FP32ToBF16(float32(rng.NormFloat64())))
			binary.LittleEndian.PutUint16(w[2*i:], quant.FP32ToBF16(float32(rng.NormFloat64())))
		}
		for typ, d := range dots {
			var got [2]float32
			for order, dot := range d {
				got[order] = halfDotFunc(typ, halfOrder(order))(w, nil, x)
				require.Equal(t, math.Float32bits(dot(w, x)), math.Float32bits(got[order]), "%s order %d", typ, order)
			}
			orderShows[typ] = orderShows[typ] || got[0] != got[1]
		}
	}
	require.True(t, orderShows[quant.F16] && orderShows[quant.BF16], "the orders never differed, so this test shows nothing")
}

func TestHalfOrderFor(t *testing.T) {
	require.Equal(t, orderVecDot, halfOrderFor(1, 256, 256), "one token")
	require.Equal(t, orderTinyBLAS, halfOrderFor(2, 256, 256))
	require.Equal(t, orderVecDot, halfOrderFor(5, 258, 256), "rows not a multiple of 4")
	require.Equal(t, orderVecDot, halfOrderFor(5, 256, 260), "row length not a multiple of 8")
}
