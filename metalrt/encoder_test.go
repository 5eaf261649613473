package metalrt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/plan"
)

// handPlan is a small plan over a 3-page weights file: an rmsnorm, two
// mat-vecs sharing their weight and input (the second may run
// concurrently with the first), an empty command buffer and a tiled
// mat-mul that needs threadgroup memory.
func handPlan() *plan.Plan {
	arena := func(off, n int64, write bool, v string) plan.Binding {
		return plan.Binding{Buffer: plan.Arena, Offset: off, Length: n, Write: write, Value: v}
	}
	weight := func(off, n int64, v string) plan.Binding {
		return plan.Binding{Buffer: plan.Weights, Offset: off, Length: n, Value: v}
	}
	mat := plan.MatParams{Rows: 64, Cols: 64, N: 1}
	p := &plan.Plan{Name: "hand", N: 1, Vocab: 64}
	for k, size := range []int64{16, 4, 3 * page, 0, 4096, 256} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	p.Commands = []plan.CommandBuffer{
		{Dispatches: []plan.Dispatch{
			{Kernel: "rmsnorm", Node: "norm", Params: plan.NormParams{Dim: 64, N: 1, Eps: 1e-5}, Grid: plan.Grid{1, 1, 1},
				Bindings: []plan.Binding{arena(0, 256, false, "x"), weight(64, 256, "norm.weight"), arena(256, 256, true, "xn")}},
			{Kernel: "matvec_f32", Node: "a", Params: mat, Grid: plan.Grid{64, 1, 1}, Barrier: true,
				Bindings: []plan.Binding{weight(page+8192, 16384, "w"), arena(256, 256, false, "xn"), arena(512, 256, true, "a")}},
			{Kernel: "matvec_f32", Node: "b", Params: mat, Grid: plan.Grid{64, 1, 1},
				Bindings: []plan.Binding{weight(page+8192, 16384, "w"), arena(256, 256, false, "xn"), arena(768, 256, true, "b")}},
		}},
		{},
		{Dispatches: []plan.Dispatch{
			{Kernel: "matmul_q4_0", Node: "c", Params: mat, Grid: plan.Grid{64, 1, 1}, Barrier: true,
				Bindings: []plan.Binding{weight(1024, 2304, "wq"), arena(512, 256, false, "a"), arena(1024, 256, true, "c")}},
		}},
	}
	return p
}

// handCovering splits the 3-page file into two overlapping windows.
var handCovering = Covering{{0, 2 * page}, {page, 2 * page}}

func record(t *testing.T, p *plan.Plan, cov Covering) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, Encode(p, cov, Recorder{W: &b}))
	return b.String()
}

func TestEncodeHandPlan(t *testing.T) {
	want := `begin cb=0
pipeline rmsnorm
buffer 0 arena+0
buffer 1 weights[0]+64
buffer 2 arena+256
bytes 3 00000040 00000001 3727c5ac
tgmem 0 128
dispatch [1 1 1] x [32 1 1]
pipeline matvec_f32
buffer 0 weights[1]+8192
buffer 1 arena+256
buffer 2 arena+512
bytes 3 00000040 00000040 00000001
tgmem 0 20736
barrier
dispatch [1 1 1] x [256 1 1]
buffer 2 arena+768
bytes 3 00000040 00000040 00000001
tgmem 0 20736
dispatch [1 1 1] x [256 1 1]
end
commit cb=0
begin cb=2
pipeline matmul_q4_0
buffer 0 weights[0]+1024
buffer 1 arena+512
buffer 2 arena+1024
bytes 3 00000040 00000040 00000001
tgmem 0 8192
dispatch [1 1 1] x [128 1 1]
end
commit cb=2
`
	assert.Equal(t, want, record(t, handPlan(), handCovering))

	l, err := NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	assert.Equal(t, []string{"rmsnorm", "matvec_f32", "matmul_q4_0"}, l.Pipelines())
	assert.Equal(t, 2, l.CommandBuffers())
	assert.Equal(t, 32, l.threads["rmsnorm"])
	assert.Equal(t, 128, l.threads["matmul_q4_0"])
	assert.Equal(t, 8192, l.memory["matmul_q4_0"])
	assert.Equal(t, 20736, l.memory["matvec_f32"])
	assert.Equal(t, strings.Count(want, "\n"), l.Len())
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(p *plan.Plan)
		cov   Covering
		wants []string
	}{
		{"weight straddles windows", func(p *plan.Plan) {
			p.Commands[0].Dispatches[0].Bindings[1].Length = 2 * page
		}, handCovering, []string{"rmsnorm (norm) binding 1 (norm.weight)", "lie in no single buffer"}},
		{"misaligned arena offset", func(p *plan.Plan) {
			p.Commands[0].Dispatches[0].Bindings[0].Offset = 2
		}, handCovering, []string{"binding 0 (x)", "offset 2 into arena is not a multiple of 16"}},
		{"arena offset breaks vector alignment", func(p *plan.Plan) {
			p.Commands[0].Dispatches[0].Bindings[2].Offset = 264
		}, handCovering, []string{"binding 2 (xn)", "offset 264 into arena is not a multiple of 16"}},
		{"misaligned weight offset", func(p *plan.Plan) {
			p.Commands[0].Dispatches[0].Bindings[1].Offset = 66
		}, handCovering, []string{"binding 1 (norm.weight)", "offset 66 into weights[0] is not a multiple of 4"}},
		{"geometry refuses", func(p *plan.Plan) {
			p.Commands[2].Dispatches[0].Grid = plan.Grid{32, 1, 1}
		}, handCovering, []string{"matmul_q4_0 (c)", "grid"}},
		{"plan does not verify", func(p *plan.Plan) {
			p.Commands[0].Dispatches[1].Barrier = false // reads what rmsnorm writes
		}, handCovering, []string{"does not verify", "without a barrier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := handPlan()
			tc.edit(p)
			_, err := NewCommandList(p, tc.cov)
			require.Error(t, err)
			for _, w := range tc.wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	_, err := NewCommandList(nil, handCovering)
	require.ErrorContains(t, err, "nil plan")
}

// nopEncoder drops every call.
type nopEncoder struct{}

func (nopEncoder) Begin(int)                       {}
func (nopEncoder) SetPipeline(string)              {}
func (nopEncoder) SetBuffer(BufferRef, int64, int) {}
func (nopEncoder) SetBytes([]byte, int)            {}
func (nopEncoder) SetThreadgroupMemory(int, int)   {}
func (nopEncoder) Dispatch([3]int, [3]int)         {}
func (nopEncoder) Barrier()                        {}
func (nopEncoder) End()                            {}
func (nopEncoder) Commit(int)                      {}

func TestReplayDoesNotAllocate(t *testing.T) {
	l, err := NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	var enc Encoder = nopEncoder{}
	assert.Zero(t, testing.AllocsPerRun(100, func() { l.Replay(enc) }))
}

// TestEncodeOpCases encodes every op case (package opcases, which covers
// every contract) over a covering of 1 MiB windows, as the darwin tests
// run them on the GPU.
func TestEncodeOpCases(t *testing.T) {
	cases, weights := opcases.All()
	for _, c := range cases {
		cov, err := Cover(int64(len(weights)), page, 1<<20, Extents(c.Plan))
		require.NoError(t, err, c.Name)
		_, err = NewCommandList(c.Plan, cov)
		require.NoError(t, err, c.Name)
	}
}

func TestCheckPipeline(t *testing.T) {
	l, err := NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	ok := PipelineLimits{MaxThreads: 1024, SimdWidth: 32, StaticMemory: 0, DeviceMemory: 32 << 10}
	for _, k := range l.Pipelines() {
		require.NoError(t, l.CheckPipeline(k, ok), k)
	}
	for _, tc := range []struct {
		edit func(*PipelineLimits)
		want string
	}{
		{func(p *PipelineLimits) { p.SimdWidth = 64 }, "pipeline matmul_q4_0 runs simdgroups of 64 threads; the kernels assume 32"},
		{func(p *PipelineLimits) { p.SimdWidth = 16 }, "pipeline matmul_q4_0 runs simdgroups of 16 threads; the kernels assume 32"},
		{func(p *PipelineLimits) { p.MaxThreads = 64 }, "pipeline matmul_q4_0: launches of 128 threads per threadgroup; it allows 64"},
		{func(p *PipelineLimits) { p.StaticMemory = 30 << 10 }, "pipeline matmul_q4_0: launches with 38912 bytes of threadgroup memory; the device allows 32768"},
	} {
		lim := ok
		tc.edit(&lim)
		assert.EqualError(t, l.CheckPipeline("matmul_q4_0", lim), tc.want)
	}
}
