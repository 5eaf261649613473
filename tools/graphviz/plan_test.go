package graphviz_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/emicklei/dot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// toyPlan is the start of a decode step written by hand: two command
// buffers, barriers where a dispatch reads what an earlier one wrote, and
// Q/K/V mat-vecs running concurrently.
func toyPlan(t *testing.T) *plan.Plan {
	t.Helper()
	rd := func(buf plan.BufferKind, off, n int64, v string) plan.Binding {
		return plan.Binding{Buffer: buf, Offset: off, Length: n, Value: v}
	}
	wr := func(buf plan.BufferKind, off, n int64, v string) plan.Binding {
		b := rd(buf, off, n, v)
		b.Write = true
		return b
	}
	step := rd(plan.Step, 0, 16, "step")
	mat := func(node string, woff, rows int64, y int64, barrier bool) plan.Dispatch {
		return plan.Dispatch{Kernel: "matvec_f32", Node: "blk.0/" + node, Barrier: barrier,
			Bindings: []plan.Binding{rd(plan.Weights, woff, rows*64, "blk.0."+node+".weight"),
				rd(plan.Arena, 64, 64, "blk.0/attn_norm"), wr(plan.Arena, y, rows*4, "blk.0/"+node)},
			Params: plan.MatParams{Rows: int32(rows), Cols: 16, N: 1}, Grid: plan.Grid{int(rows), 1, 1}}
	}
	p := &plan.Plan{Name: "toy-llama/n=1", N: 1, Vocab: 32,
		Commands: []plan.CommandBuffer{
			{Dispatches: []plan.Dispatch{
				{Kernel: "embed_f32", Node: "embed", Params: plan.EmbedParams{Dim: 16, Vocab: 32, N: 1}, Grid: plan.Grid{16, 1, 1},
					Bindings: []plan.Binding{rd(plan.Weights, 0, 2048, "token_embd.weight"), rd(plan.Tokens, 0, 4, "tokens"), wr(plan.Arena, 0, 64, "embed")}},
				{Kernel: "rmsnorm", Node: "blk.0/attn_norm", Barrier: true, Params: plan.NormParams{Dim: 16, N: 1, Eps: 1e-5}, Grid: plan.Grid{1, 1, 1},
					Bindings: []plan.Binding{rd(plan.Arena, 0, 64, "embed"), rd(plan.Weights, 2048, 64, "blk.0.attn_norm.weight"), wr(plan.Arena, 64, 64, "blk.0/attn_norm")}},
				mat("attn_q", 4096, 16, 128, true),
				mat("attn_k", 8192, 8, 192, false),
				mat("attn_v", 12288, 8, 224, false),
			}},
			{Dispatches: []plan.Dispatch{
				{Kernel: "rope", Node: "blk.0/rope_q", Params: plan.RopeParams{Heads: 4, HeadDim: 4, Dims: 4, N: 1, Base: 10000, FreqScale: 1}, Grid: plan.Grid{4, 1, 1},
					Bindings: []plan.Binding{step, rd(plan.Arena, 128, 64, "blk.0/attn_q"), wr(plan.Arena, 256, 64, "blk.0/rope_q")}},
				{Kernel: "add", Node: "blk.0/attn_residual", Barrier: true, Params: plan.EltParams{Count: 16}, Grid: plan.Grid{16, 1, 1},
					Bindings: []plan.Binding{rd(plan.Arena, 0, 64, "embed"), rd(plan.Arena, 256, 64, "blk.0/rope_q"), wr(plan.Arena, 320, 64, "blk.0/attn_residual")}},
			}},
		}}
	for k, size := range []int64{16, 4, 1 << 20, 2048, 4096, 128} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	require.NoError(t, plan.Verify(p))
	return p
}

// firstLine names a drawn plan node by its first label line.
func firstLine(n dot.Node) string {
	l, _, _ := strings.Cut(n.Value("label").(string), "\n")
	return l
}

func planEdges(g *dot.Graph) (edges []string, all []dot.Edge) {
	for _, es := range g.EdgesMap() {
		for _, e := range es {
			edges = append(edges, firstLine(e.From())+" -> "+firstLine(e.To()))
			all = append(all, e)
		}
	}
	slices.Sort(edges)
	return edges, all
}

func TestPlanShowsSegmentsBetweenBarriers(t *testing.T) {
	g := graphviz.Plan(toyPlan(t))
	edges, all := planEdges(g)
	assert.Equal(t, []string{
		"#0 embed_f32 -> barrier",
		"#1 rmsnorm -> barrier",
		"#4 matvec_f32 -> #5 rope", // command buffer 0 then 1
		"#5 rope -> barrier",
		"barrier -> #1 rmsnorm",
		"barrier -> #2 matvec_f32",
		"barrier -> #3 matvec_f32", // Q, K and V share one segment
		"barrier -> #4 matvec_f32",
		"barrier -> #6 add",
	}, edges)
	for _, e := range all {
		if firstLine(e.From()) == "barrier" || firstLine(e.To()) == "barrier" {
			assert.Equal(t, "#e41a1c", e.Value("color"))
			assert.Equal(t, "bold", e.Value("style"))
			continue
		}
		assert.Equal(t, "then", e.Value("label"))
		assert.NotEqual(t, e.Value("ltail"), e.Value("lhead"))
		assert.True(t, strings.HasPrefix(e.Value("ltail").(string), "cluster_"))
	}

	nodes := map[string]dot.Node{}
	barriers := 0
	for _, n := range g.FindNodes() {
		if firstLine(n) == "barrier" {
			barriers++
			continue
		}
		nodes[firstLine(n)] = n
	}
	assert.Equal(t, 3, barriers, "one marker per dispatch that waits")
	q := nodes["#2 matvec_f32"]
	assert.Equal(t, "#2 matvec_f32\nblk.0/attn_q\ngrid 16×1×1", q.Value("label"))
	assert.Equal(t, "weight r weights[4096:5120] blk.0.attn_q.weight\nx r arena[64:128] blk.0/attn_norm\ny w arena[128:192] blk.0/attn_q",
		q.Value("tooltip"))
	assert.Equal(t, "buffers\nstep: 16 B\ntokens: 4 B\nweights: 1.00 MiB\nkv: 2.00 KiB\narena: 4.00 KiB\nlogits: 128 B", nodes["buffers"].Value("label"))
	assert.NotEqual(t, q.Value("fillcolor"), nodes["#1 rmsnorm"].Value("fillcolor"))
	assert.NotEqual(t, q.Value("fillcolor"), nodes["#5 rope"].Value("fillcolor"))

	src := g.String()
	assert.Contains(t, src, `label="command buffer 0 · 5 dispatches"`)
	assert.Contains(t, src, `label="command buffer 1 · 2 dispatches"`)
	assert.Contains(t, src, "7 dispatches in 2 command buffers · 3 barriers")
}

func TestPlanOddCases(t *testing.T) {
	p := toyPlan(t)
	p.Commands[1].Dispatches[0].Barrier = true // a barrier opening a command buffer still shows
	p.Commands[1].Dispatches[1].Kernel = "mystery_kernel"
	p.Commands = append(p.Commands, plan.CommandBuffer{})
	g := graphviz.Plan(p)
	edges, _ := planEdges(g)
	assert.Contains(t, edges, "#4 matvec_f32 -> barrier", "the next command buffer starts at its marker")
	assert.Contains(t, edges, "#6 mystery_kernel -> (no dispatches)")

	for _, n := range g.FindNodes() {
		if firstLine(n) == "#6 mystery_kernel" {
			assert.Equal(t, "#f2f2f2", n.Value("fillcolor"), "unknown kernels are grey")
			assert.True(t, strings.HasPrefix(n.Value("tooltip").(string), "0 r arena[0:64] embed\n"), "bindings numbered without a contract")
		}
	}
}

func TestPlanGolden(t *testing.T) {
	var b strings.Builder
	require.NoError(t, graphviz.WritePlan(&b, toyPlan(t)))
	golden(t, "plan.dot", b.String())
}
