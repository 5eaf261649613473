package cudart

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/plan"
)

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		d    plan.Dispatch
		want Launch
	}{
		// Q4_0 and Q8_0: the int8 mat-vec's blocks of 16 rows and 256 threads.
		{plan.Dispatch{Kernel: "matvec_q4_0", Params: plan.MatParams{Rows: 4096, Cols: 4096, N: 1}, Grid: plan.Grid{4096, 1, 1}},
			Launch{Grid: [3]int{256, 1, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matvec_q8_0_qkv", Params: plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: 2}, Grid: plan.Grid{6144, 2, 1}},
			Launch{Grid: [3]int{384, 2, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matvec_q6_k_qkv", Params: plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: 1}, Grid: plan.Grid{6144, 1, 1}},
			Launch{Grid: [3]int{768, 1, 1}, Block: [3]int{128, 1, 1}}},
		{plan.Dispatch{Kernel: "mtmatvec_q8_0_acc", Params: plan.MatParams{Rows: 72, Cols: 512, N: 5}, Grid: plan.Grid{72, 5, 1}},
			Launch{Grid: [3]int{9, 1, 1}, Block: [3]int{128, 1, 1}}},
		// Tiled: token groups in x, so blocks sharing weight rows run together;
		// on the tensor cores Q6_K in blocks of 128 rows x 32 tokens, Q4_0,
		// Q8_0, F16, BF16, Q4_K and Q5_K of 128 rows x 64 tokens (gate_up: 64
		// rows of each matrix), F32 too (in TF32).
		{plan.Dispatch{Kernel: "matmul_q4_0_acc", Params: plan.MatParams{Rows: 4096, Cols: 14336, N: 512}, Grid: plan.Grid{4096, 512, 1}},
			Launch{Grid: [3]int{8, 32, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_q8_0_gate_up", Params: plan.MatParams{Rows: 136, Cols: 512, N: 65}, Grid: plan.Grid{136, 65, 1}},
			Launch{Grid: [3]int{2, 3, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_q4_0_qkv", Params: plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: 512}, Grid: plan.Grid{6144, 512, 1}},
			Launch{Grid: [3]int{8, 48, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_q4_k_gate_up", Params: plan.MatParams{Rows: 136, Cols: 512, N: 37}, Grid: plan.Grid{136, 37, 1}},
			Launch{Grid: [3]int{1, 3, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_f16", Params: plan.MatParams{Rows: 4096, Cols: 4096, N: 512}, Grid: plan.Grid{4096, 512, 1}},
			Launch{Grid: [3]int{8, 32, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_f32_gate_up", Params: plan.MatParams{Rows: 136, Cols: 512, N: 37}, Grid: plan.Grid{136, 37, 1}},
			Launch{Grid: [3]int{1, 3, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "matmul_q6_k_gate_up", Params: plan.MatParams{Rows: 136, Cols: 512, N: 37}, Grid: plan.Grid{136, 37, 1}},
			Launch{Grid: [3]int{2, 2, 1}, Block: [3]int{256, 1, 1}}},
		{plan.Dispatch{Kernel: "rmsnorm", Params: plan.NormParams{Dim: 4096, N: 3, Eps: 1e-5}, Grid: plan.Grid{3, 1, 1}},
			Launch{Grid: [3]int{3, 1, 1}, Block: [3]int{1024, 1, 1}}},
		{plan.Dispatch{Kernel: "rmsnorm", Params: plan.NormParams{Dim: 100, N: 1, Eps: 1e-5}, Grid: plan.Grid{1, 1, 1}},
			Launch{Grid: [3]int{1, 1, 1}, Block: [3]int{32, 1, 1}}},
		// Decode attention: 8 splits of a 4096-row cache (512 rows each), none
		// of a 640-row one.
		{plan.Dispatch{Kernel: "attn_decode_f16", Params: plan.AttnParams{Heads: 32, KVHeads: 8, HeadDim: 128, N: 1, Capacity: 4096, Scale: 0.088},
			Grid: plan.Grid{32, 1, 1}}, Launch{Grid: [3]int{32, 1, 8}, Block: [3]int{256, 1, 1}, Shared: 8 * 130 * 4}},
		{plan.Dispatch{Kernel: "attn_decode_f32", Params: plan.AttnParams{Heads: 32, KVHeads: 8, HeadDim: 64, N: 2, Capacity: 640, Scale: 0.125},
			Grid: plan.Grid{32, 2, 1}}, Launch{Grid: [3]int{32, 2, 1}, Block: [3]int{256, 1, 1}, Shared: 8 * 66 * 4}},
		{plan.Dispatch{Kernel: "attn_prefill_f32", Params: plan.AttnParams{Heads: 32, KVHeads: 8, HeadDim: 128, N: 12, Capacity: 4096, Scale: 0.088},
			Grid: plan.Grid{32, 12, 1}}, Launch{Grid: [3]int{32, 1, 1}, Block: [3]int{128, 1, 1}, Shared: (32*136 + 128*40) * 2}},
		{plan.Dispatch{Kernel: "rope_kv_write_f16", Params: plan.RopeKVParams{Heads: 32, KVHeads: 8, HeadDim: 128, Dims: 128, N: 2, Capacity: 64, Base: 1e6, FreqScale: 1},
			Grid: plan.Grid{32, 2, 1}}, Launch{Grid: [3]int{32, 2, 1}, Block: [3]int{64, 1, 1}}},
		{plan.Dispatch{Kernel: "add", Params: plan.EltParams{Count: 1000}, Grid: plan.Grid{1000, 1, 1}},
			Launch{Grid: [3]int{4, 1, 1}, Block: [3]int{256, 1, 1}}},
	} {
		got, err := Geometry(&c.d)
		require.NoError(t, err, c.d.Kernel)
		require.Equal(t, c.want, got, c.d.Kernel)
	}
}

func TestGeometryRefuses(t *testing.T) {
	for _, c := range []struct {
		d    plan.Dispatch
		want string
	}{
		{plan.Dispatch{Kernel: "matvec_q4_0", Node: "blk.0/attn_q", Params: plan.MatParams{Rows: 8, Cols: 100, N: 1}, Grid: plan.Grid{8, 1, 1}},
			"cudart: matvec_q4_0 (blk.0/attn_q): cols 100 is not a multiple of the Q4_0 block size 32"},
		{plan.Dispatch{Kernel: "matvec_q4_0", Params: plan.EltParams{Count: 1}},
			"cudart: matvec_q4_0 (): parameters are plan.EltParams, the contract wants plan.MatParams"},
		{plan.Dispatch{Kernel: "conv2d"}, `cudart: unknown kernel contract "conv2d"`},
		// A grid y past CUDA's limit: 70000 tokens of a single-token mat-vec.
		{plan.Dispatch{Kernel: "matvec_f32", Node: "n", Params: plan.MatParams{Rows: 8, Cols: 8, N: 70000}, Grid: plan.Grid{8, 70000, 1}},
			"cudart: matvec_f32 (n): grid [1 70000 1]: want positive x, y up to 65535, z up to 65535"},
	} {
		_, err := Geometry(&c.d)
		require.EqualError(t, err, c.want)
	}
	_, err := Geometry(nil)
	require.Error(t, err)
}

// TestLaunchCheckGridZ: split decode attention needs grid z, up to CUDA's
// 65535.
func TestLaunchCheckGridZ(t *testing.T) {
	block := [3]int{32, 1, 1}
	require.NoError(t, Launch{Grid: [3]int{1, 1, 65535}, Block: block}.check())
	for _, z := range []int{0, 65536} {
		require.EqualError(t, Launch{Grid: [3]int{1, 1, z}, Block: block}.check(),
			fmt.Sprintf("grid [1 1 %d]: want positive x, y up to 65535, z up to 65535", z))
	}
}

// TestAttnSplits checks the split rule: enough splits for 512 blocks,
// none shorter than 512 rows of a full cache, one below 1024 rows.
func TestAttnSplits(t *testing.T) {
	for _, c := range []struct {
		heads, n, capacity, want int
	}{
		{32, 1, 512, 1},    // the 512-token bench context
		{32, 1, 1023, 1},   // two splits would be shorter than 512 rows
		{32, 1, 1024, 2},   // capacity-bound
		{32, 1, 4096, 8},   // capacity-bound: 256 blocks
		{32, 1, 32768, 16}, // block-bound: 512 blocks of 2048 rows
		{32, 8, 32768, 2},  // a speculative step already has 256 blocks
		{40, 1, 32768, 13}, // rounds up to at least 512 blocks
		{8, 2, 131072, 32},
		{64, 8, 131072, 1}, // 512 blocks without splitting
		{1, 1, 100000, 195},
	} {
		p := plan.AttnParams{Heads: int32(c.heads), KVHeads: 1, HeadDim: 128, N: int32(c.n), Capacity: int32(c.capacity)}
		s := attnSplits(p)
		require.Equal(t, c.want, s, "%+v", c)
		if s > 1 {
			require.GreaterOrEqual(t, c.capacity/s, attnSplitMinRows, "%+v: splits of a full cache", c)
			require.Less(t, c.heads*c.n*(s-1), attnSplitBlocks, "%+v: no more splits than the blocks need", c)
		}
	}
}

// TestGeometryOfOpCases checks that every op case (package opcases, which
// covers every contract) gets a launch, so the device tests
// (device_test.go) run every kernel.
func TestGeometryOfOpCases(t *testing.T) {
	cases, _ := opcases.All()
	for _, c := range cases {
		_, err := Geometry(&c.Plan.Commands[0].Dispatches[0])
		require.NoError(t, err, c.Name)
	}
}
