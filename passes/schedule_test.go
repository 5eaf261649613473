package passes

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

var allFusions = []string{"fuse_qkv", "fuse_gate_up", "fuse_residual", "fuse_rope_kv"}

// plan7B schedules the Mistral-7B shape for a step of n tokens.
func plan7B(t *testing.T, n int, disable ...string) (*State, *mistral.Model) {
	t.Helper()
	m := testmodel.Mistral7B(t)
	g, err := mistral.Build(m.Config, m.Weights, n)
	require.NoError(t, err)
	s := runPipeline(t, g, Target{Weights: m.Weights, WeightsSize: m.File.Size()}, disable...)
	require.NoError(t, plan.Verify(s.Plan))
	return s, m
}

// idealWeightBytes is every weight read once and the embedding table's n
// rows of the step's tokens.
func idealWeightBytes(m *mistral.Model, n int) int64 {
	var sum int64
	for _, w := range m.Weights.All() {
		if w.Name != "token_embd.weight" {
			sum += int64(len(w.Data))
		}
	}
	emb := m.Weights.TokenEmbd
	return sum + int64(n)*int64(len(emb.Data))/int64(emb.Shape[0])
}

func TestSchedule7BVerifies(t *testing.T) {
	for _, n := range []int{1, 2, 5, 8, 64, 512} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			s, m := plan7B(t, n)
			p := s.Plan
			checkPlanShape(t, s)
			total := checkMemory(t, s.Graph, s.Target, s.Memory)
			assert.Less(t, s.Memory.Arena, total, "the arena must reuse storage")
			st := p.Stats()
			if n <= 8 {
				assert.Equal(t, idealWeightBytes(m, n), st.WeightBytesRead, "each weight read once, embed %d rows", n)
			}
			t.Logf("n=%d\n%s", n, st)
		})
	}
}

func TestSchedule7BDecodeNumbers(t *testing.T) {
	m := testmodel.Mistral7B(t)
	g, err := mistral.Build(m.Config, m.Weights, 1)
	require.NoError(t, err)
	for _, c := range []struct {
		name    string
		disable []string
	}{{"fused", nil}, {"unfused", allFusions}} {
		res, err := Run(g, Target{Weights: m.Weights, WeightsSize: m.File.Size()}, Options{Disable: c.disable})
		require.NoError(t, err)
		st := res.Plan.Stats()
		assert.Equal(t, idealWeightBytes(m, 1), st.WeightBytesRead, c.name)
		assert.Less(t, st.ArenaBytes, int64(1<<20), "%s: a decode step's intermediates fit in well under a MiB", c.name)
		t.Logf("Mistral-7B shape, N=1, %s:\n%sideal weight bytes       %16d", c.name, st, idealWeightBytes(m, 1))
	}
}

// checkPlanShape checks what schedule promises beyond plan.Verify: one
// dispatch per node in topological order, buffer sizes, the step binding,
// command buffer sizes, and barriers that are each needed.
func checkPlanShape(t *testing.T, s *State) {
	t.Helper()
	p, g := s.Plan, s.Graph
	order, err := g.Topo()
	require.NoError(t, err)
	ds := p.Dispatches()
	require.Len(t, ds, len(order))
	for i, d := range ds {
		require.Equal(t, order[i].Name, d.Node)
	}
	vocab := g.Outputs[0].Shape[1]
	assert.Equal(t, [6]int64{16, 4 * int64(g.N), s.Target.WeightsSize, kvEnd(s.Memory.KV), s.Memory.Arena, 4 * int64(g.N*vocab)},
		[6]int64{p.Buffers[0].Size, p.Buffers[1].Size, p.Buffers[2].Size, p.Buffers[3].Size, p.Buffers[4].Size, p.Buffers[5].Size})
	assert.Equal(t, s.Memory.KV, p.KV)

	require.NotEmpty(t, p.Commands)
	assert.Len(t, p.Commands[0].Dispatches, min(len(ds), firstCommandBufferDispatches))
	for ci, cb := range p.Commands {
		assert.LessOrEqual(t, len(cb.Dispatches), maxCommandBufferDispatches)
		assert.False(t, cb.Dispatches[0].Barrier, "command buffer %d starts with a barrier", ci)
		var segment []*plan.Dispatch
		for di := range cb.Dispatches {
			d := &cb.Dispatches[di]
			c, err := plan.Lookup(d.Kernel)
			require.NoError(t, err)
			for ri, r := range c.Roles {
				if r.Name == "step" {
					assert.Equal(t, plan.Binding{Buffer: plan.Step, Length: 16, Value: "step"}, d.Bindings[ri], d.Node)
				}
			}
			if d.Barrier {
				assert.True(t, anyConflict(segment, d), "%s waits at a barrier it does not need", d.Node)
				segment = segment[:0]
			}
			segment = append(segment, d)
		}
	}
}

func kvEnd(kv []plan.KVLayout) int64 {
	l := kv[len(kv)-1]
	return l.Offset + l.Length
}

// anyConflict reports whether d touches bytes a dispatch of the segment
// writes, or writes bytes one reads.
func anyConflict(segment []*plan.Dispatch, d *plan.Dispatch) bool {
	for _, e := range segment {
		for _, x := range e.Bindings {
			for _, y := range d.Bindings {
				if (x.Write || y.Write) && x.Overlaps(y) {
					return true
				}
			}
		}
	}
	return false
}

func TestScheduleRunsIndependentMatVecsConcurrently(t *testing.T) {
	st := stories(t)
	s := runPipeline(t, storiesGraph(t, st, 1), Target{Weights: st.Weights, WeightsSize: st.File.Size()}, allFusions...)
	checkPlanShape(t, s)
	barrier := map[string]bool{}
	for _, d := range s.Plan.Dispatches() {
		barrier[d.Node] = d.Barrier
	}
	for _, b := range []string{"blk.1", "blk.3"} {
		assert.True(t, barrier[b+"/attn_q"], "attn_q reads attn_norm's output")
		assert.False(t, barrier[b+"/attn_k"], "attn_k runs with attn_q")
		assert.False(t, barrier[b+"/attn_v"], "attn_v runs with attn_q and attn_k")
		assert.False(t, barrier[b+"/ffn_up"], "ffn_up runs with ffn_gate")
	}
}

func TestScheduleKernelsAndParams(t *testing.T) {
	st := stories(t)
	target := Target{Weights: st.Weights, WeightsSize: st.File.Size()}
	cases := []struct {
		n       int
		disable []string
		qkv     string
		attn    string // named by the cache type, F16 by default
	}{
		{1, nil, "matvec_f32_qkv", "attn_decode_f16"},
		{5, nil, "mtmatvec_f32_qkv", "attn_decode_f16"},
		{64, nil, "matmul_f32_qkv", "attn_prefill_f16"},
		// Without select_variants mat-vecs run as matvec and attention by
		// AttnDecodeMax.
		{5, []string{"select_variants"}, "matvec_f32_qkv", "attn_decode_f16"},
		{64, []string{"select_variants"}, "matvec_f32_qkv", "attn_prefill_f16"},
	}
	for _, c := range cases {
		s := runPipeline(t, storiesGraph(t, st, c.n), target, c.disable...)
		checkPlanShape(t, s)
		d := dispatchOf(t, s.Plan, "blk.0/attn_qkv")
		assert.Equal(t, c.qkv, d.Kernel)
		assert.Equal(t, plan.QKVParams{RowsQ: 64, RowsKV: 32, Cols: 64, N: int32(c.n)}, d.Params)
		assert.Equal(t, plan.Grid{128, c.n, 1}, d.Grid)
		a := dispatchOf(t, s.Plan, "blk.0/attn")
		assert.Equal(t, c.attn, a.Kernel)
		assert.Equal(t, plan.AttnParams{Heads: 8, KVHeads: 4, HeadDim: 8, N: int32(c.n), Capacity: 2048, Scale: a.Params.(plan.AttnParams).Scale}, a.Params)
		assert.InDelta(t, 1/2.828427, a.Params.(plan.AttnParams).Scale, 1e-6)
	}
}

func dispatchOf(t *testing.T, p *plan.Plan, node string) *plan.Dispatch {
	t.Helper()
	for _, d := range p.Dispatches() {
		if d.Node == node {
			return d
		}
	}
	t.Fatalf("no dispatch for node %s", node)
	return nil
}

func TestScheduleHazards(t *testing.T) {
	// Two dispatches writing one arena range without a barrier between
	// them: plan.Verify must refuse the plan.
	p := &plan.Plan{Name: "race", N: 1, Vocab: 4}
	for k, size := range []int64{16, 4, 0, 0, 1024, 16} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	write := func(node string) plan.Dispatch {
		return plan.Dispatch{Kernel: "add", Node: node, Params: plan.EltParams{Count: 4}, Grid: plan.Grid{4, 1, 1},
			Bindings: []plan.Binding{
				{Buffer: plan.Arena, Offset: 0, Length: 16},
				{Buffer: plan.Arena, Offset: 16, Length: 16},
				{Buffer: plan.Arena, Offset: 512, Length: 16, Write: true},
			}}
	}
	p.Commands = []plan.CommandBuffer{{Dispatches: []plan.Dispatch{write("a"), write("b")}}}
	assert.ErrorContains(t, plan.Verify(p), "without a barrier")

	// The scheduled plan verifies; without its barriers it does not.
	st := stories(t)
	s := runPipeline(t, storiesGraph(t, st, 5), Target{Weights: st.Weights, WeightsSize: st.File.Size()}, allFusions...)
	require.NoError(t, plan.Verify(s.Plan))
	for _, d := range s.Plan.Dispatches() {
		d.Barrier = false
	}
	assert.ErrorContains(t, plan.Verify(s.Plan), "without a barrier")
}

func TestScheduleErrors(t *testing.T) {
	g, c := chain(t)
	s := &State{Graph: g, Target: Target{Weights: c, WeightsSize: c.size}}
	require.ErrorContains(t, Schedule.Run(s), "plan_memory must run before schedule")

	require.NoError(t, PlanMemory.Run(s))
	x := g.Lookup("u")
	b := ops.NewBuilder(g)
	b.Add("late", x, x) // a node added after memory planning has no location
	require.NoError(t, b.Err())
	require.ErrorContains(t, Schedule.Run(s), "value late has no location")

	g = graph.New("opaque", 1)
	e := ops.NewBuilder(g).Embed("embed", g.Weight("emb", quant.F32, 10, 16), g.Input("tokens", quant.I32, 1))
	n, err := g.Add("mystery", opaqueOp{}, e)
	require.NoError(t, err)
	g.Output(n.Out())
	s = &State{Graph: g, Target: Target{Weights: layOut(g), WeightsSize: layOut(g).size}}
	require.NoError(t, PlanMemory.Run(s))
	require.ErrorContains(t, Schedule.Run(s), "op opaque has no kernel contract")
}

func TestCommandBufferSizes(t *testing.T) {
	sizes := func(n int) []int {
		var out []int
		for _, cb := range commandBuffers(make([]plan.Dispatch, n)) {
			out = append(out, len(cb.Dispatches))
		}
		return out
	}
	assert.Equal(t, []int{32, 113, 114}, sizes(259), "Mistral-7B: four blocks first, the rest in two bounded buffers")
	assert.Equal(t, []int{32, 11}, sizes(43), "stories260K")
	assert.Equal(t, []int{32, 128}, sizes(160))
	assert.Equal(t, []int{32, 65, 65}, sizes(162))
	assert.Equal(t, []int{5}, sizes(5), "a plan shorter than the first buffer is one buffer")
}
