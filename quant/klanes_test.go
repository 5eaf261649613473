package quant

import (
	"encoding/binary"
	"math"
	"testing"

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
