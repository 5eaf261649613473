package cudart

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
)

// TestStepsQuantizeBeforeInt8Matmuls: a Q4_0 matmul is two launches,
// quantize_q8 over the x binding into the scratch, then the matmul with the
// scratch's values and scales after its parameters; other dispatches are
// their own kernel alone and need no scratch.
func TestStepsQuantizeBeforeInt8Matmuls(t *testing.T) {
	p := plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: 100}
	d := &plan.Dispatch{Kernel: "matmul_q4_0_qkv", Params: p, Grid: plan.Grid{6144, 100, 1},
		Bindings: make([]plan.Binding, 7)}
	ptrs := []uint64{0x1000, 0x2000, 0x3000, 0x40000, 0x50000, 0x60000, 0x70000} // wq wk wv x q k v
	const scratch = 0x900000
	values := int64(100 * 4096) // a multiple of 256
	require.Equal(t, values+100*4096/32*4, ScratchBytes(d))

	steps, err := Steps(d, ptrs, scratch)
	require.NoError(t, err)
	require.Len(t, steps, 2)
	q := steps[0]
	require.Equal(t, "quantize_q8", q.Kernel)
	blocks := 100 * 4096 / 32
	require.Equal(t, Launch{Grid: [3]int{blocks / 8, 1, 1}, Block: [3]int{256, 1, 1}}, q.Launch, "a warp a block of 32 values")
	require.Equal(t, []uint64{0x40000, scratch, scratch + uint64(values)}, u64s(q.Args[:24]))
	require.Equal(t, plan.Encode(plan.EltParams{Count: int32(blocks)}), q.Args[24:])

	m := steps[1]
	require.Equal(t, "matmul_q4_0_qkv", m.Kernel)
	want, err := Geometry(d)
	require.NoError(t, err)
	require.Equal(t, want, m.Launch)
	require.Equal(t, ptrs, u64s(m.Args[:56]))
	require.Equal(t, plan.Encode(p), m.Args[56:72])
	require.Equal(t, []uint64{scratch, scratch + uint64(values)}, u64s(m.Args[72:]), "16 bytes of parameters end on an 8-byte offset")

	for _, other := range []*plan.Dispatch{
		{Kernel: "matvec_q4_0", Params: plan.MatParams{Rows: 64, Cols: 64, N: 1}, Grid: plan.Grid{64, 1, 1}, Bindings: make([]plan.Binding, 3)},
		{Kernel: "matmul_q6_k", Params: plan.MatParams{Rows: 64, Cols: 256, N: 9}, Grid: plan.Grid{64, 9, 1}, Bindings: make([]plan.Binding, 3)},
	} {
		require.Zero(t, ScratchBytes(other), other.Kernel)
		steps, err := Steps(other, []uint64{1, 2, 3}, 0)
		require.NoError(t, err)
		require.Len(t, steps, 1)
		require.Equal(t, other.Kernel, steps[0].Kernel)
		require.Equal(t, packArgs([]uint64{1, 2, 3}, other.Params), steps[0].Args)
	}
	_, err = Steps(d, ptrs[:3], scratch)
	require.ErrorContains(t, err, "3 addresses for 7 bindings")
}

// TestPackArgsPadsBeforeTrailingPointers: 12 bytes of MatParams after
// three pointers end at 36, so the next pointer goes at 40.
func TestPackArgsPadsBeforeTrailingPointers(t *testing.T) {
	buf := packArgs([]uint64{1, 2, 3}, plan.MatParams{Rows: 7, Cols: 32, N: 2}, 0xabc, 0xdef)
	require.Len(t, buf, 56)
	require.Equal(t, plan.Encode(plan.MatParams{Rows: 7, Cols: 32, N: 2}), buf[24:36])
	require.Equal(t, make([]byte, 4), buf[36:40])
	require.Equal(t, []uint64{0xabc, 0xdef}, u64s(buf[40:]))
}

func u64s(b []byte) []uint64 {
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}

// TestStepsSplitDecodeAttention: a split attn_decode is its kernel with
// the scratch after its parameters, then attn_decode_reduce from the
// scratch into the out binding with the split count; a single split is
// one launch that needs no scratch.
func TestStepsSplitDecodeAttention(t *testing.T) {
	p := plan.AttnParams{Heads: 32, KVHeads: 8, HeadDim: 128, N: 2, Capacity: 4096, Scale: 0.088}
	d := &plan.Dispatch{Kernel: "attn_decode_f16", Params: p, Grid: plan.Grid{32, 2, 1}, Bindings: make([]plan.Binding, 5)}
	ptrs := []uint64{0x10, 0x1000, 0x2000, 0x3000, 0x4000} // step q k_cache v_cache out
	const scratch = 0x900000
	require.Equal(t, int64(2*32*8*130*4), ScratchBytes(d), "8 splits of (m, s, acc[128]) per head and token")

	steps, err := Steps(d, ptrs, scratch)
	require.NoError(t, err)
	require.Len(t, steps, 2)
	attn := steps[0]
	require.Equal(t, "attn_decode_f16", attn.Kernel)
	require.Equal(t, Launch{Grid: [3]int{32, 2, 8}, Block: [3]int{256, 1, 1}, Shared: 8 * 130 * 4}, attn.Launch)
	require.Equal(t, ptrs, u64s(attn.Args[:40]))
	require.Equal(t, plan.Encode(p), attn.Args[40:68])
	require.Equal(t, []uint64{scratch}, u64s(attn.Args[72:]), "28 bytes of parameters, padded to 72")

	reduce := steps[1]
	require.Equal(t, "attn_decode_reduce", reduce.Kernel)
	require.Equal(t, Launch{Grid: [3]int{32, 2, 1}, Block: [3]int{128, 1, 1}}, reduce.Launch, "a thread per element")
	require.Equal(t, []uint64{scratch, 0x4000}, u64s(reduce.Args[:16]))
	require.Equal(t, plan.Encode(p), reduce.Args[16:44])
	require.Equal(t, plan.Encode(plan.EltParams{Count: 8}), reduce.Args[44:])

	p.Capacity = 640
	single := &plan.Dispatch{Kernel: "attn_decode_f32", Params: p, Grid: plan.Grid{32, 2, 1}, Bindings: make([]plan.Binding, 5)}
	require.Zero(t, ScratchBytes(single))
	steps, err = Steps(single, ptrs, 0)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	require.Equal(t, 1, steps[0].Launch.Grid[2])
	require.Equal(t, packArgs(ptrs, p, 0), steps[0].Args)
}
