package passes

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// contiguous is a WeightLocator that lays a graph's weights out one after
// another, 32-byte aligned as in a GGUF file, after a 4 KiB header.
type contiguous struct {
	at   map[string][2]int64
	size int64
}

func layOut(g *graph.Graph) contiguous {
	c := contiguous{at: map[string][2]int64{}, size: 4096}
	for _, v := range g.ValuesOf(graph.Weight) {
		c.at[v.Name] = [2]int64{c.size, v.Bytes()}
		c.size += (v.Bytes() + 31) / 32 * 32
	}
	return c
}

func (c contiguous) Locate(name string) (int64, int64, bool) {
	l, ok := c.at[name]
	return l[0], l[1], ok
}

// runPipeline runs every pass of the pipeline but the disabled ones over a
// clone of g and returns the final state (graph, memory and plan).
func runPipeline(t testing.TB, g *graph.Graph, target Target, disable ...string) *State {
	t.Helper()
	s := &State{Graph: g.Clone(), Target: target}
	for _, p := range Pipeline {
		if !contains(disable, p.Name) {
			require.NoError(t, runOne(p, s), p.Name)
		}
	}
	return s
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// checkMemory checks a memory plan exhaustively against the graph's
// topological order: every value placed, weights where the locator says,
// arena offsets aligned and inside the arena, and no two arena values that
// are live at the same step sharing a byte, except an output written in
// place over an input of its node that the op allows and that dies there.
// It returns the bytes of all arena values together.
func checkMemory(t *testing.T, g *graph.Graph, target Target, m *Memory) int64 {
	t.Helper()
	order, err := g.Topo()
	require.NoError(t, err)
	step := map[*graph.Value]int{}
	last := map[*graph.Value]int{}
	for i, n := range order {
		for _, o := range n.Outputs {
			step[o], last[o] = i, i
		}
		for _, in := range n.Inputs {
			last[in] = i
		}
	}
	var arena []*graph.Value
	var total int64
	for _, v := range g.Values {
		loc, ok := m.Loc[v]
		require.True(t, ok, "value %s has no location", v.Name)
		switch v.Kind {
		case graph.Weight:
			off, _, _ := target.Weights.Locate(v.Name)
			assert.Equal(t, Location{plan.Weights, off}, loc, v.Name)
		case graph.Input:
			assert.Equal(t, Location{plan.Tokens, 0}, loc, v.Name)
		case graph.State:
			assert.Equal(t, plan.KV, loc.Buffer, v.Name)
		}
		if v.Kind != graph.Activation {
			continue
		}
		if a, ok := v.Producer.Op.(ops.Aliaser); ok {
			if j, ok := a.Aliases(v.Index); ok {
				assert.Equal(t, m.Loc[v.Producer.Inputs[j]], loc, "%s aliases %s", v.Name, v.Producer.Inputs[j].Name)
				require.NotEqual(t, plan.Arena, loc.Buffer, "the test graphs alias state only")
				continue
			}
		}
		if loc.Buffer == plan.Logits {
			assert.Equal(t, g.Outputs, []*graph.Value{v})
			continue
		}
		require.Equal(t, plan.Arena, loc.Buffer, v.Name)
		assert.Zero(t, loc.Offset%arenaAlign, "%s at %d", v.Name, loc.Offset)
		assert.LessOrEqual(t, loc.Offset+v.Bytes(), m.Arena, v.Name)
		arena = append(arena, v)
		total += v.Bytes()
	}
	inPlace := func(u, v *graph.Value) bool { // v written over u
		p, ok := v.Producer.Op.(ops.InPlacer)
		if !ok || m.Loc[u] != m.Loc[v] || last[u] != step[v] {
			return false
		}
		j, ok := p.InPlace(v.Index)
		return ok && v.Producer.Inputs[j] == u
	}
	for i, u := range arena {
		for _, v := range arena[i+1:] {
			if step[v] < step[u] {
				u, v = v, u
			}
			lu, lv := m.Loc[u].Offset, m.Loc[v].Offset
			if lu >= lv+v.Bytes() || lv >= lu+u.Bytes() || last[u] < step[v] || inPlace(u, v) {
				continue
			}
			t.Errorf("%s [%d,%d) live over steps %d..%d overlaps %s [%d,%d) live over %d..%d",
				u.Name, lu, lu+u.Bytes(), step[u], last[u], v.Name, lv, lv+v.Bytes(), step[v], last[v])
		}
	}
	return total
}

func TestPlanMemoryNoLiveOverlap(t *testing.T) {
	st := stories(t)
	target := Target{Weights: st.Weights, WeightsSize: st.File.Size()}
	for _, n := range []int{1, 5, 64} {
		for _, disable := range [][]string{nil, {"fuse_qkv", "fuse_gate_up", "fuse_residual", "fuse_rope_kv"}} {
			t.Run(fmt.Sprintf("n=%d/disabled=%v", n, disable), func(t *testing.T) {
				s := runPipeline(t, storiesGraph(t, st, n), target, disable...)
				total := checkMemory(t, s.Graph, target, s.Memory)
				assert.Less(t, s.Memory.Arena, total, "the arena must reuse storage")
				t.Logf("arena %d bytes for %d bytes of intermediates", s.Memory.Arena, total)
			})
		}
	}
}

func TestPlanMemoryWritesMatMulAddInPlace(t *testing.T) {
	st := stories(t)
	target := Target{Weights: st.Weights, WeightsSize: st.File.Size()}
	s := runPipeline(t, storiesGraph(t, st, 1), target)
	var fused int
	for _, n := range s.Graph.Nodes {
		if _, ok := n.Op.(ops.MatMulAddOp); ok {
			fused++
			assert.Equal(t, s.Memory.Loc[n.Inputs[2]], s.Memory.Loc[n.Out()], "%s is not written over its residual", n.Name)
		}
	}
	assert.Equal(t, 2*st.Config.Layers, fused)
}

func TestPlanMemoryKVLayoutIndependentOfN(t *testing.T) {
	st := stories(t)
	target := Target{Weights: st.Weights, WeightsSize: st.File.Size()}
	one := runPipeline(t, storiesGraph(t, st, 1), target).Memory.KV
	require.Len(t, one, 2*st.Config.Layers)
	for i, l := range one {
		assert.Zero(t, l.Offset%arenaAlign)
		assert.Equal(t, int64(st.Config.Context*st.Config.KVHeads*st.Config.HeadDim*st.Config.KVType.BlockBytes()), l.Length, l.Name)
		if i > 0 {
			assert.GreaterOrEqual(t, l.Offset, one[i-1].Offset+one[i-1].Length)
		}
	}
	assert.Equal(t, "blk.0/k_cache", one[0].Name)
	assert.Equal(t, one, runPipeline(t, storiesGraph(t, st, 64), target).Memory.KV)
}

// chain builds embed → rmsnorm → add(e, h) → add(s, e) → output matmul,
// where e stays live past the first add and s dies at the second.
func chain(t *testing.T) (*graph.Graph, contiguous) {
	g := graph.New("chain", 2)
	b := ops.NewBuilder(g)
	e := b.Embed("embed", g.Weight("emb", quant.F32, 10, 64), g.Input("tokens", quant.I32, 2))
	h := b.RMSNorm("norm", e, g.Weight("norm", quant.F32, 64), 1e-5)
	s := b.Add("s", e, h)
	u := b.Add("u", s, e)
	g.Output(b.MatMul("out", g.Weight("w", quant.F32, 10, 64), u))
	require.NoError(t, b.Err())
	return g, layOut(g)
}

func TestPlanMemoryInPlaceOnlyWhereTheInputDies(t *testing.T) {
	g, c := chain(t)
	m, err := planMemory(g, c)
	require.NoError(t, err)
	checkMemory(t, g, Target{Weights: c}, m)
	loc := func(name string) Location { return m.Loc[g.Lookup(name)] }
	assert.NotEqual(t, loc("embed"), loc("s"), "embed is read after s, so s cannot overwrite it")
	assert.Equal(t, loc("s"), loc("u"), "s dies at u, which may overwrite it")
	assert.Equal(t, Location{plan.Logits, 0}, loc("out"))
}

func TestPlanMemoryErrors(t *testing.T) {
	g, c := chain(t)
	delete(c.at, "norm")
	_, err := planMemory(g, c)
	assert.ErrorContains(t, err, "weight norm is not in the weights file")

	g, c = chain(t)
	g.Output(g.Lookup("s"))
	_, err = planMemory(g, c)
	assert.ErrorContains(t, err, "exactly one output")

	// Attention reading the cache before kv_write updated it, placed after
	// the write: the old contents are gone by then.
	g = graph.New("clobber", 1)
	b := ops.NewBuilder(g)
	x := b.Embed("embed", g.Weight("emb", quant.F32, 10, 16), g.Input("tokens", quant.I32, 1))
	kc, vc := g.State("k_cache", quant.F32, 8, 16), g.State("v_cache", quant.F32, 8, 16)
	b.KVWrite("kv_write", kc, vc, x, x)
	a := b.Attention("attn", x, kc, vc, ops.AttentionOp{Heads: 2, KVHeads: 2, HeadDim: 8, Scale: 1})
	g.Output(b.MatMul("out", g.Weight("w", quant.F32, 10, 16), a))
	require.NoError(t, b.Err())
	_, err = planMemory(g, layOut(g))
	assert.ErrorContains(t, err, "node attn reads k_cache after node kv_write overwrote its storage")
}

func TestArenaBestFitAndMerge(t *testing.T) {
	var a arena
	for _, size := range []int64{256, 512, 256, 256} {
		a.alloc(size) // [0,256) [256,768) [768,1024) [1024,1280)
	}
	a.release(256, 512)
	a.release(1024, 256)
	assert.Equal(t, int64(1024), a.alloc(256), "best fit takes the 256-byte hole, not the first that fits")
	assert.Equal(t, int64(256), a.alloc(512))
	a.release(0, 256)
	a.release(768, 256)
	a.release(256, 512)
	a.release(1024, 256)
	assert.Equal(t, []span{{0, 1280}}, a.free, "neighbours merge")
	assert.Equal(t, int64(0), a.alloc(2048), "a free range at the top grows in place")
	assert.Equal(t, int64(2048), a.top)
}
