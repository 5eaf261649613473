package cpurt

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/quant"
)

func halfRow(t quant.Type, vals []float32) []byte {
	w := make([]byte, 2*len(vals))
	for i, v := range vals {
		h := quant.FP32ToFP16(v)
		if t == quant.BF16 {
			h = quant.FP32ToBF16(v)
		}
		binary.LittleEndian.PutUint16(w[2*i:], h)
	}
	return w
}

// halfDot is the dot of a row of n elements whose products are given by
// kind per element: 'P' = 2^20, 'N' = −2^20, 's' = 2^-8 (lost when added
// to ±2^20 in float32), anything else 0.
func halfDot(t quant.Type, order halfOrder, n int, kinds map[int]byte) float32 {
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
	return halfDotFunc(t, order)(halfRow(t, w), nil, x)
}

// The orders are ggml's: checked on rows whose float32 sum depends on the
// order, because 2^-8 survives only when ±2^20 cancel first.
func TestHalfDotOrders(t *testing.T) {
	const s = 1.0 / 256
	for _, typ := range []quant.Type{quant.F16, quant.BF16} {
		// tinyBLAS: one accumulator lane per element mod 8, hsum as
		// (l0+l4 + l2+l6) + (l1+l5 + l3+l7).
		require.Equal(t, float32(0), halfDot(typ, orderTinyBLAS, 8, map[int]byte{0: 'P', 4: 's', 2: 'N'}), "%s", typ)
		require.Equal(t, float32(s), halfDot(typ, orderTinyBLAS, 8, map[int]byte{0: 'P', 4: 'N', 2: 's'}), "%s", typ)
		require.Equal(t, float32(0), halfDot(typ, orderTinyBLAS, 8, map[int]byte{0: 'P', 1: 'N', 2: 's'}), "%s", typ)
		// Lanes accumulate over steps of 8.
		require.Equal(t, float32(0), halfDot(typ, orderTinyBLAS, 16, map[int]byte{0: 'P', 8: 's', 1: 'N'}), "%s", typ)

		// vec_dot: accumulators a0..a3 take elements 8j+l of each step
		// of 32 and reduce lane-wise as (a0+a2) + (a1+a3).
		require.Equal(t, float32(0), halfDot(typ, orderVecDot, 32, map[int]byte{0: 'P', 16: 's', 8: 'N'}), "%s", typ)
		require.Equal(t, float32(s), halfDot(typ, orderVecDot, 32, map[int]byte{0: 'P', 16: 'N', 8: 's'}), "%s", typ)
		// Leftovers past the last full step are added in float64.
		require.Equal(t, float32(s), halfDot(typ, orderVecDot, 40, map[int]byte{0: 'P', 33: 's', 16: 'N'}), "%s", typ)
	}
	// The lanes' final reduction differs: F16 (GGML_F32x8_REDUCE) adds
	// lanes (0+4 + 1+5) + (2+6 + 3+7); BF16 like tinyBLAS.
	lanes := map[int]byte{0: 'P', 1: 'N', 2: 's'}
	require.Equal(t, float32(s), halfDot(quant.F16, orderVecDot, 32, lanes))
	require.Equal(t, float32(0), halfDot(quant.BF16, orderVecDot, 32, lanes))
}

func TestHalfOrderFor(t *testing.T) {
	require.Equal(t, orderVecDot, halfOrderFor(1, 256, 256), "one token")
	require.Equal(t, orderTinyBLAS, halfOrderFor(2, 256, 256))
	require.Equal(t, orderVecDot, halfOrderFor(5, 258, 256), "rows not a multiple of 4")
	require.Equal(t, orderVecDot, halfOrderFor(5, 256, 260), "row length not a multiple of 8")
}
