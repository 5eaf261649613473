package metalrt

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
)

// dispatchOf builds a dispatch of contract c with Mistral-7B sizes and n
// tokens, its grid as passes/schedule.go fills it.
func dispatchOf(t *testing.T, c plan.Contract, n int32) *plan.Dispatch {
	t.Helper()
	d := &plan.Dispatch{Kernel: c.Name, Node: "test"}
	variant, form, _ := strings.Cut(c.Family, "@")
	switch {
	case c.Family == "embed":
		p := plan.EmbedParams{Dim: 4096, Vocab: 32000, N: n}
		d.Params, d.Grid = p, plan.Grid{4096, int(n), 1}
	case c.Family == "rmsnorm":
		d.Params, d.Grid = plan.NormParams{Dim: 4096, N: n, Eps: 1e-5}, plan.Grid{int(n), 1, 1}
	case c.Family == "rope":
		d.Params, d.Grid = plan.RopeParams{Heads: 32, HeadDim: 128, Dims: 128, N: n, Base: 1e6, FreqScale: 1}, plan.Grid{32, int(n), 1}
	case c.Family == "kv_write":
		d.Params, d.Grid = plan.KVParams{Width: 1024, N: n, Capacity: 4096}, plan.Grid{1024, int(n), 1}
	case c.Family == "rope_kv_write":
		d.Params = plan.RopeKVParams{Heads: 32, KVHeads: 8, HeadDim: 128, Dims: 128, N: n, Capacity: 4096, Base: 1e6, FreqScale: 1}
		d.Grid = plan.Grid{32, int(n), 1}
	case strings.HasPrefix(c.Family, "attn_"):
		d.Params = plan.AttnParams{Heads: 32, KVHeads: 8, HeadDim: 128, N: n, Capacity: 4096, Window: 4096, Scale: 0.088}
		d.Grid = plan.Grid{32, int(n), 1}
	case c.Family == "swiglu" || c.Family == "add":
		d.Params, d.Grid = plan.EltParams{Count: 14336 * n}, plan.Grid{14336 * int(n), 1, 1}
	case form == "qkv":
		d.Params, d.Grid = plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: n}, plan.Grid{6144, int(n), 1}
	case variant == "matvec" || variant == "mtmatvec" || variant == "matmul":
		d.Params, d.Grid = plan.MatParams{Rows: 14336, Cols: 4096, N: n}, plan.Grid{14336, int(n), 1}
	default:
		t.Fatalf("contract %s of family %s has no test dispatch", c.Name, c.Family)
	}
	return d
}

// covered is how many rows (or heads, tokens, elements) along each grid
// dimension a launch reaches, by the per-threadgroup counts of the kernels.
func covered(t *testing.T, c plan.Contract, n int32, d *plan.Dispatch, l Launch) (x, y int) {
	t.Helper()
	variant, form, _ := strings.Cut(c.Family, "@")
	switch {
	case variant == "matvec":
		return l.Threadgroups[0] * matvecShape(c.Weight, 1).outputs(form), l.Threadgroups[1]
	case variant == "mtmatvec":
		return l.Threadgroups[0] * matvecShape(c.Weight, int(n)).outputs(form), mtmatvecMaxN
	case variant == "matmul":
		return l.Threadgroups[0] * matmulRows, l.Threadgroups[1] * matmulTokens
	case c.Family == "attn_prefill": // tiles of query rows (token, head of a GQA group) by KV heads
		p := d.Params.(plan.AttnParams)
		group := int(p.Heads / p.KVHeads)
		return l.Threadgroups[1] * group, l.Threadgroups[0] * attnPrefillRows / group
	case c.Family == "attn_decode": // blocks of query heads, each for every token of the step; x is chunks
		return l.Threadgroups[1] * attnGroup, attnDecodeMaxN
	case c.Family == "rmsnorm":
		return l.Threadgroups[0], 1
	case c.Family == "embed" || c.Family == "kv_write" || c.Family == "swiglu" || c.Family == "add":
		return l.Threadgroups[0] * l.Threads[0], l.Threadgroups[1]
	default: // one threadgroup per head and token
		return l.Threadgroups[0], l.Threadgroups[1]
	}
}

func TestGeometryEveryContract(t *testing.T) {
	for _, c := range plan.Contracts() {
		for _, n := range []int32{1, 5, 8, 100} {
			if (strings.HasPrefix(c.Family, "mtmatvec") || c.Family == "attn_decode") && n > mtmatvecMaxN {
				continue // both serve at most 8 tokens a step
			}
			d := dispatchOf(t, c, n)
			l, err := Geometry(d)
			require.NoError(t, err, "%s n=%d", c.Name, n)
			threads := l.Threads[0] * l.Threads[1] * l.Threads[2]
			assert.LessOrEqual(t, threads, 1024, c.Name)
			assert.Zero(t, threads%32, "%s: %d threads are not whole simdgroups", c.Name, threads)
			assert.LessOrEqual(t, l.ThreadgroupMemory, 32<<10, c.Name)
			assert.Equal(t, len(c.Roles), l.ParamsIndex, c.Name)
			x, y := covered(t, c, n, d, l)
			assert.GreaterOrEqual(t, x, d.Grid[0], "%s n=%d: launch %+v misses grid %v", c.Name, n, l, d.Grid)
			assert.GreaterOrEqual(t, y, d.Grid[1], "%s n=%d: launch %+v misses grid %v", c.Name, n, l, d.Grid)
			want := c.Name
			if strings.HasPrefix(c.Family, "mtmatvec") || c.Family == "attn_decode" {
				want = fmt.Sprintf("%s_n%d", c.Name, n)
			}
			assert.Equal(t, want, PipelineKey(d))
		}
	}
}

// Each token count of a multi-token mat-vec or attention decode has its
// own pipeline, named from the dispatch; other contracts' pipelines are the
// contracts.
func TestPipelineKeyPerTokens(t *testing.T) {
	mt := func(kernel string, n int32) *plan.Dispatch {
		c, err := plan.Lookup(kernel)
		require.NoError(t, err)
		return dispatchOf(t, c, n)
	}
	for n := int32(1); n <= mtmatvecMaxN; n++ {
		assert.Equal(t, fmt.Sprintf("mtmatvec_q4_0_n%d", n), PipelineKey(mt("mtmatvec_q4_0", n)))
		assert.Equal(t, fmt.Sprintf("mtmatvec_q6_k_acc_n%d", n), PipelineKey(mt("mtmatvec_q6_k_acc", n)))
		assert.Equal(t, fmt.Sprintf("mtmatvec_q5_k_qkv_n%d", n), PipelineKey(mt("mtmatvec_q5_k_qkv", n)))
		assert.Equal(t, fmt.Sprintf("mtmatvec_f16_gate_up_n%d", n), PipelineKey(mt("mtmatvec_f16_gate_up", n)))
		assert.Equal(t, "matvec_q4_0", PipelineKey(mt("matvec_q4_0", n)))
		assert.Equal(t, "matmul_q8_0_acc", PipelineKey(mt("matmul_q8_0_acc", n)))
	}
	for n := int32(1); n <= attnDecodeMaxN; n++ {
		assert.Equal(t, fmt.Sprintf("attn_decode_f16_n%d", n), PipelineKey(mt("attn_decode_f16", n)))
	}
	assert.Equal(t, "no_such_kernel", PipelineKey(&plan.Dispatch{Kernel: "no_such_kernel"}))
}

// The conventions of metal-geometry, written out for one size each.
func TestGeometryTable(t *testing.T) {
	launch := func(kernel string, n int32) Launch {
		c, err := plan.Lookup(kernel)
		require.NoError(t, err)
		l, err := Geometry(dispatchOf(t, c, n))
		require.NoError(t, err)
		return l
	}
	cases := []struct {
		kernel string
		n      int32
		want   Launch
	}{
		// 8 simdgroups × 10 rows; a tile of 512 columns: its activations,
		// then 80 rows of it (16 blocks of 18 bytes)
		{"matvec_q4_0", 1, Launch{[3]int{180, 1, 1}, [3]int{256, 1, 1}, 512*4 + 80*16*18, 3}},
		{"matvec_q6_k_acc", 3, Launch{[3]int{224, 3, 1}, [3]int{256, 1, 1}, 512*4 + 64*2*210, 4}},     // 8 rows per simdgroup
		{"matvec_q8_0_qkv", 1, Launch{[3]int{128, 1, 1}, [3]int{256, 1, 1}, 512*4 + 48*16*34, 7}},     // 6
		{"matvec_q4_k_gate_up", 1, Launch{[3]int{359, 1, 1}, [3]int{256, 1, 1}, 512*4 + 80*2*144, 4}}, // 40 outputs
		{"matvec_f16", 1, Launch{[3]int{180, 1, 1}, [3]int{256, 1, 1}, 128*4 + 80*128*2, 3}},
		{"matvec_f32", 1, Launch{[3]int{180, 1, 1}, [3]int{256, 1, 1}, 64*4 + 80*64*4, 3}},
		// 6 tokens' activations leave room for 6 rows of 352 bytes per simdgroup
		{"mtmatvec_q5_k", 6, Launch{[3]int{299, 1, 1}, [3]int{256, 1, 1}, 6*512*4 + 48*2*176, 3}},
		{"mtmatvec_q8_0", 8, Launch{[3]int{896, 1, 1}, [3]int{256, 1, 1}, 8*512*4 + 16*16*34, 3}}, // 2 rows
		{"matmul_q4_0", 100, Launch{[3]int{224, 4, 1}, [3]int{128, 1, 1}, 8192, 3}},
		{"matmul_f16_gate_up", 32, Launch{[3]int{224, 1, 1}, [3]int{128, 1, 1}, 8192, 4}},
		{"matmul_bf16_gate_up", 32, Launch{[3]int{224, 1, 1}, [3]int{128, 1, 1}, 12288, 4}},
		{"matmul_f32", 33, Launch{[3]int{224, 2, 1}, [3]int{128, 1, 1}, 12288, 3}},
		{"rmsnorm", 7, Launch{[3]int{7, 1, 1}, [3]int{1024, 1, 1}, 128, 3}},
		{"rope", 2, Launch{[3]int{32, 2, 1}, [3]int{64, 1, 1}, 0, 3}},
		{"kv_write_f16", 4, Launch{[3]int{4, 4, 1}, [3]int{256, 1, 1}, 0, 5}},
		{"rope_kv_write_f32", 1, Launch{[3]int{32, 1, 1}, [3]int{64, 1, 1}, 0, 7}},
		{"attn_decode_f16", 1, Launch{[3]int{32, 8, 1}, [3]int{128, 1, 1}, 2 * 16 * 128 * 2, 5}},            // 32 chunks × 8 KV heads of 4 query heads; 16 K and V rows staged
		{"attn_decode_f32", 8, Launch{[3]int{32, 8, 1}, [3]int{128, 1, 1}, 2 * 16 * 128 * 4, 5}},            // a verification step: the same threadgroups serve its 8 tokens
		{"attn_prefill_f32", 17, Launch{[3]int{3, 8, 1}, [3]int{128, 1, 1}, 2*24*128*4 + 4*(8*24+96)*4, 5}}, // 68 rows × 8 KV heads; K, V blocks of 24 rows
		{"attn_prefill_f16", 5, Launch{[3]int{1, 8, 1}, [3]int{128, 1, 1}, 2*32*128*2 + 4*(8*32+96)*4, 5}},  // a verification step: one tile per KV head
		{"embed_q6_k", 2, Launch{[3]int{16, 2, 1}, [3]int{256, 1, 1}, 0, 3}},
		{"swiglu", 1, Launch{[3]int{56, 1, 1}, [3]int{256, 1, 1}, 0, 3}},
		{"add", 2, Launch{[3]int{112, 1, 1}, [3]int{256, 1, 1}, 0, 3}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, launch(c.kernel, c.n), c.kernel)
	}
}

// Attention decode runs as chunks per KV head and block of query heads,
// then a reduction per query head and token; it alone splits.
func TestGeometryAttnDecodeSplit(t *testing.T) {
	cases := []struct {
		heads, kvHeads, headDim, n, capacity int32
		groups                               [3]int
		scratch                              int
	}{
		{32, 8, 128, 1, 4096, [3]int{32, 8, 1}, 32 * 32 * 130 * 4},  // Mistral-7B at 4K: 256 threadgroups
		{32, 8, 128, 1, 32768, [3]int{32, 8, 1}, 32 * 32 * 130 * 4}, // longer caches lengthen the chunks
		{32, 8, 128, 3, 100, [3]int{1, 8, 1}, 3 * 32 * 1 * 130 * 4}, // one chunk, for all 3 tokens
		{64, 8, 128, 1, 300, [3]int{3, 16, 1}, 64 * 3 * 130 * 4},    // GQA 8:1: two blocks of 4 query heads
		{6, 1, 64, 2, 129, [3]int{2, 2, 1}, 2 * 6 * 2 * 66 * 4},     // GQA 6:1: blocks of 4 and 2
		{4, 4, 6, 1, 64, [3]int{1, 4, 1}, 4 * 8 * 4},                // head_dim 6, one chunk
	}
	for _, c := range cases {
		d := &plan.Dispatch{Kernel: "attn_decode_f16", Grid: plan.Grid{int(c.heads), int(c.n), 1},
			Params: plan.AttnParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.headDim, N: c.n, Capacity: c.capacity, Scale: 0.1}}
		l, err := Geometry(d)
		require.NoError(t, err)
		assert.Equal(t, c.groups, l.Threadgroups, "%+v", c)
		assert.Equal(t, [3]int{128, 1, 1}, l.Threads)
		assert.Equal(t, 2*16*int(c.headDim)*2, l.ThreadgroupMemory, "16 staged K rows and 16 V rows of half")
		want := &Split{Scratch: c.scratch, Kernel: attnReduceKernel, Threadgroups: [3]int{int(c.heads), int(c.n), 1}, Threads: [3]int{32, 1, 1}}
		assert.Equal(t, want, SplitOf(d), "%+v", c)
		assert.LessOrEqual(t, c.groups[0], 32, "a simdgroup's lanes hold the chunks' (max, sum) in the reduction")
	}
	for _, c := range plan.Contracts() {
		if c.Family != "attn_decode" {
			assert.Nil(t, SplitOf(dispatchOf(t, c, 1)), c.Name)
		}
	}
}

// Prefill tiles hold 32 query rows of one KV head; a block of cache rows
// fills at most 12 KiB per K or V, so every head_dim up to 256 fits Apple's
// 32 KiB of threadgroup memory with at least 8 rows a block.
func TestGeometryAttnPrefill(t *testing.T) {
	cases := []struct {
		kernel                     string
		heads, kvHeads, headDim, n int32
		groups                     [3]int
		blockRows                  int
	}{
		{"attn_prefill_f16", 32, 8, 128, 64, [3]int{8, 8, 1}, 32},  // Mistral-7B prefill chunk: 8 tokens a tile
		{"attn_prefill_f16", 32, 8, 128, 2, [3]int{1, 8, 1}, 32},   // verification
		{"attn_prefill_f32", 32, 32, 64, 33, [3]int{2, 32, 1}, 32}, // GQA 1:1: a tile of 32 tokens and one of 1
		{"attn_prefill_f32", 6, 1, 256, 9, [3]int{2, 1, 1}, 8},     // GQA 6:1: 54 rows
		{"attn_prefill_f16", 4, 2, 6, 3, [3]int{1, 2, 1}, 32},      // head_dim 6 padded to 8
	}
	for _, c := range cases {
		d := &plan.Dispatch{Kernel: c.kernel, Grid: plan.Grid{int(c.heads), int(c.n), 1},
			Params: plan.AttnParams{Heads: c.heads, KVHeads: c.kvHeads, HeadDim: c.headDim, N: c.n, Capacity: 4096, Scale: 0.1}}
		l, err := Geometry(d)
		require.NoError(t, err, "%+v", c)
		elem := 2
		if strings.HasSuffix(c.kernel, "f32") {
			elem = 4
		}
		hdp := (int(c.headDim) + 7) / 8 * 8
		assert.Equal(t, c.groups, l.Threadgroups, "%+v", c)
		assert.Equal(t, [3]int{128, 1, 1}, l.Threads, "%+v", c)
		assert.Equal(t, 2*c.blockRows*hdp*elem+4*(8*c.blockRows+96)*4, l.ThreadgroupMemory, "%+v", c)
		assert.Nil(t, SplitOf(d), "%+v", c)
	}
	for hd := 1; hd <= attnMaxHeadDim; hd++ {
		for _, elem := range []int{2, 4} {
			kc := attnPrefillRowsPerBlock((hd+7)/8*8, elem)
			assert.True(t, kc >= 8 && kc%8 == 0, "head_dim %d, %d-byte cache: %d rows a block", hd, elem, kc)
			l := attnPrefillLaunch(plan.AttnParams{Heads: 8, KVHeads: 2, HeadDim: int32(hd), N: 40, Capacity: 64}, elem)
			assert.NoError(t, l.check(), "head_dim %d, %d-byte cache", hd, elem)
		}
	}
}

// Tiny models (stories260K: dim 64, head_dim 8, rope dims 8) still get
// whole simdgroups.
func TestGeometrySmallSizes(t *testing.T) {
	l, err := Geometry(&plan.Dispatch{Kernel: "rmsnorm", Params: plan.NormParams{Dim: 8, N: 1}, Grid: plan.Grid{1, 1, 1}})
	require.NoError(t, err)
	assert.Equal(t, [3]int{32, 1, 1}, l.Threads)
	l, err = Geometry(&plan.Dispatch{Kernel: "rope_kv_write_f16", Grid: plan.Grid{8, 3, 1},
		Params: plan.RopeKVParams{Heads: 8, KVHeads: 4, HeadDim: 8, Dims: 8, N: 3, Capacity: 2048}})
	require.NoError(t, err)
	assert.Equal(t, Launch{[3]int{8, 3, 1}, [3]int{32, 1, 1}, 0, 7}, l)
	l, err = Geometry(&plan.Dispatch{Kernel: "matvec_f32", Params: plan.MatParams{Rows: 3, Cols: 172, N: 1}, Grid: plan.Grid{3, 1, 1}})
	require.NoError(t, err)
	assert.Equal(t, [3]int{1, 1, 1}, l.Threadgroups)
}

func TestGeometryErrors(t *testing.T) {
	cases := []struct {
		name string
		d    *plan.Dispatch
		want string
	}{
		{"nil", nil, "nil dispatch"},
		{"unknown", &plan.Dispatch{Kernel: "matvec_q3_k"}, "unknown kernel contract"},
		{"params type", &plan.Dispatch{Kernel: "add", Params: plan.MatParams{Rows: 1, Cols: 1, N: 1}, Grid: plan.Grid{1, 1, 1}}, "contract wants plan.EltParams"},
		{"zero rows", &plan.Dispatch{Kernel: "matvec_f16", Params: plan.MatParams{Rows: 0, Cols: 8, N: 1}, Grid: plan.Grid{0, 1, 1}}, "rows is 0"},
		{"partial block", &plan.Dispatch{Kernel: "matvec_q4_k", Params: plan.MatParams{Rows: 8, Cols: 4000, N: 1}, Grid: plan.Grid{8, 1, 1}}, "block size 256"},
		{"grid", &plan.Dispatch{Kernel: "matmul_q8_0", Params: plan.MatParams{Rows: 8, Cols: 64, N: 2}, Grid: plan.Grid{8, 1, 1}}, "disagrees"},
		{"weight alignment", &plan.Dispatch{Kernel: "matvec_q4_0", Params: plan.MatParams{Rows: 8, Cols: 64, N: 1}, Grid: plan.Grid{8, 1, 1},
			Bindings: []plan.Binding{{Buffer: plan.Weights, Offset: 34}, {Buffer: plan.Arena}, {Buffer: plan.Arena}}},
			"weight (binding 0) starts at byte 34 of the weights, not on the 4-byte boundary its loads need"},
		{"mt tokens", &plan.Dispatch{Kernel: "mtmatvec_q8_0", Params: plan.MatParams{Rows: 8, Cols: 64, N: 9}, Grid: plan.Grid{8, 9, 1}}, "at most 8"},
		{"gqa", &plan.Dispatch{Kernel: "attn_decode_f32", Params: plan.AttnParams{Heads: 6, KVHeads: 4, HeadDim: 64, N: 1, Capacity: 16}, Grid: plan.Grid{6, 1, 1}}, "not a multiple"},
		{"head dim", &plan.Dispatch{Kernel: "attn_prefill_f16", Params: plan.AttnParams{Heads: 4, KVHeads: 4, HeadDim: 512, N: 1, Capacity: 16}, Grid: plan.Grid{4, 1, 1}}, "head_dim 512"},
		{"cache alignment", &plan.Dispatch{Kernel: "attn_decode_f32", Params: plan.AttnParams{Heads: 4, KVHeads: 4, HeadDim: 64, N: 1, Capacity: 16},
			Grid: plan.Grid{4, 1, 1}, Bindings: []plan.Binding{{Buffer: plan.Step}, {Buffer: plan.Arena}, {Buffer: plan.KV, Offset: 8}}},
			"k_cache (binding 2) starts at byte 8 of the KV cache, not on the 16-byte boundary its vector loads need"},
		{"window", &plan.Dispatch{Kernel: "attn_prefill_f16", Params: plan.AttnParams{Heads: 4, KVHeads: 4, HeadDim: 64, N: 1, Capacity: 16, Window: -1}, Grid: plan.Grid{4, 1, 1}}, "window -1"},
		{"odd dims", &plan.Dispatch{Kernel: "rope", Params: plan.RopeParams{Heads: 4, HeadDim: 64, Dims: 63, N: 1}, Grid: plan.Grid{4, 1, 1}}, "must be even"},
		{"rope kv heads", &plan.Dispatch{Kernel: "rope_kv_write_f32", Params: plan.RopeKVParams{Heads: 4, KVHeads: 8, HeadDim: 64, Dims: 64, N: 1, Capacity: 8}, Grid: plan.Grid{4, 1, 1}}, "not a multiple"},
		{"cache", &plan.Dispatch{Kernel: "kv_write_f32", Params: plan.KVParams{Width: 64, N: 9, Capacity: 8}, Grid: plan.Grid{64, 9, 1}}, "exceed the 8-position cache"},
		{"embed dim", &plan.Dispatch{Kernel: "embed_q4_0", Params: plan.EmbedParams{Dim: 48, Vocab: 8, N: 1}, Grid: plan.Grid{48, 1, 1}}, "block size 32"},
	}
	for _, c := range cases {
		_, err := Geometry(c.d)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
	}
}
