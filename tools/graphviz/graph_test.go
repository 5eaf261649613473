package graphviz_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emicklei/dot"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

var update = flag.Bool("update", false, "rewrite the golden DOT files under testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./tools/graphviz -update to create it")
	require.Equal(t, string(want), got, "%s differs; if the change is intended, run go test ./tools/graphviz -update", path)
}

func toyGraph(t *testing.T, blocks, n int) *graph.Graph {
	t.Helper()
	c := toy
	c.Blocks = blocks
	g, err := buildToy(c, n, memWeights{})
	require.NoError(t, err)
	require.NoError(t, graph.Verify(g))
	return g
}

// fusedGraph is one block as the fusion passes leave it for a step of n
// tokens: fused ops with chosen variants, quantised weights, F16 caches.
func fusedGraph(t *testing.T, n int) *graph.Graph {
	t.Helper()
	const dim, hidden, vocab, heads, kvHeads, headDim, ctx = 32, 64, 32, 4, 2, 8, 16
	g := graph.New("fused", n)
	add := func(name string, op graph.Op, in ...*graph.Value) []*graph.Value {
		node, err := g.Add(name, op, in...)
		require.NoError(t, err)
		return node.Outputs
	}
	q4 := func(name string, rows, cols int) *graph.Value { return g.Weight(name, quant.Q4_0, rows, cols) }
	rope := ops.RopeOp{Heads: heads, HeadDim: headDim, Dims: headDim, Base: 10000, FreqScale: 1}
	attn := ops.AttentionOp{Heads: heads, KVHeads: kvHeads, HeadDim: headDim, Scale: 0.35, Variant: ops.AttnDecode}
	mv := ops.MultiMatVec

	tokens := g.Input("tokens", quant.I32, n)
	x := add("embed", ops.EmbedOp{}, q4("token_embd.weight", vocab, dim), tokens)[0]
	h := add("blk.0/attn_norm", ops.RMSNormOp{Eps: 1e-5}, x, g.Weight("blk.0.attn_norm.weight", quant.F32, dim))[0]
	qkv := add("blk.0/qkv", ops.QKVOp{Variant: mv}, q4("blk.0.attn_q.weight", dim, dim),
		q4("blk.0.attn_k.weight", kvHeads*headDim, dim), q4("blk.0.attn_v.weight", kvHeads*headDim, dim), h)
	kc := g.State("blk.0/k_cache", quant.F16, ctx, kvHeads*headDim)
	vc := g.State("blk.0/v_cache", quant.F16, ctx, kvHeads*headDim)
	r := add("blk.0/rope_kv_write", ops.RopeKVWriteOp{Rope: rope}, qkv[0], qkv[1], qkv[2], kc, vc)
	a := add("blk.0/attn", attn, r[0], r[1], r[2])[0]
	x = add("blk.0/attn_output", ops.MatMulAddOp{Variant: mv}, q4("blk.0.attn_output.weight", dim, dim), a, x)[0]
	h = add("blk.0/ffn_norm", ops.RMSNormOp{Eps: 1e-5}, x, g.Weight("blk.0.ffn_norm.weight", quant.F32, dim))[0]
	s := add("blk.0/ffn_gate_up", ops.GateUpOp{Variant: mv}, q4("blk.0.ffn_gate.weight", hidden, dim), q4("blk.0.ffn_up.weight", hidden, dim), h)[0]
	x = add("blk.0/ffn_down", ops.MatMulAddOp{Variant: mv}, q4("blk.0.ffn_down.weight", dim, hidden), s, x)[0]
	x = add("output_norm", ops.RMSNormOp{Eps: 1e-5}, x, g.Weight("output_norm.weight", quant.F32, dim))[0]
	g.Output(add("output", ops.MatMulOp{Variant: mv}, g.Weight("output.weight", quant.Q8_0, vocab, dim), x)[0])
	require.NoError(t, graph.Verify(g))
	return g
}

// picture is a drawn graph read back: node labels, fills and edges.
type picture struct {
	nodes    map[string]dot.Node // by the first line naming the node (its name, or op label)
	clusters []string            // cluster labels, in block order
	edges    []string            // "from -> to [label]", by node names
}

// nodeKey names a drawn node: the node name on an op's second label line,
// or the first line of an input, output or barrier.
func nodeKey(n dot.Node) string {
	lines := strings.Split(n.Value("label").(string), "\n")
	if len(lines) > 1 && !strings.HasPrefix(lines[1], "→") && !strings.Contains(lines[1], "[") {
		return lines[1]
	}
	return lines[0]
}

func read(t *testing.T, g *dot.Graph) picture {
	t.Helper()
	p := picture{nodes: map[string]dot.Node{}}
	for _, n := range g.FindNodes() {
		k := nodeKey(n)
		require.NotContains(t, p.nodes, k, "two drawn nodes named %s", k)
		p.nodes[k] = n
	}
	src := g.String()
	for _, line := range strings.Split(src, "\n") {
		if _, l, ok := strings.Cut(line, `label="blk.`); ok && strings.Contains(line, "labeljust") {
			p.clusters = append(p.clusters, "blk."+l[:strings.Index(l, `"`)])
		}
	}
	for _, es := range g.EdgesMap() {
		for _, e := range es {
			p.edges = append(p.edges, nodeKey(e.From())+" -> "+nodeKey(e.To())+" "+e.Value("label").(string))
		}
	}
	slices.Sort(p.edges)
	return p
}

func TestGraphDrawsEveryNodeAndRead(t *testing.T) {
	g := toyGraph(t, 2, 1)
	p := read(t, graphviz.Graph(g, graphviz.Options{}))
	assert.Equal(t, []string{"blk.0", "blk.1"}, p.clusters)
	assert.Len(t, p.nodes, len(g.Nodes)+2, "one box per node, plus tokens and the output")
	for _, n := range g.Nodes {
		require.Contains(t, p.nodes, n.Name)
	}

	reads := 1 // the graph output
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in.Kind == graph.Activation || in.Kind == graph.Input {
				reads++
			}
		}
	}
	assert.Len(t, p.edges, reads, "one edge per activation read")
	assert.Contains(t, p.edges, "tokens -> embed [1]")
	assert.Contains(t, p.edges, "embed -> blk.0/attn_norm [1×16]")
	assert.Contains(t, p.edges, "blk.0/ffn_residual -> blk.1/attn_norm [1×16]")
	assert.Contains(t, p.edges, "blk.0/kv_write -> blk.0/attn :1 [16×8]")
	assert.Contains(t, p.edges, "output -> graph output [1×32]")

	label := func(name string) string { return p.nodes[name].Value("label").(string) }
	assert.Equal(t, "matmul\nblk.1/attn_k\nW: F32 [8×16]\n→ F32 [1×8]", label("blk.1/attn_k"))
	assert.Equal(t, "kv_write\nblk.0/kv_write\nS: blk.0/k_cache F32 [16×8]\nS: blk.0/v_cache F32 [16×8]\n→ F32 [16×8]\n→ F32 [16×8]", label("blk.0/kv_write"))
	assert.Equal(t, "embed\nW: F32 [32×16]\n→ F32 [1×16]", label("embed"), "the name is not repeated when it is the op's")

	fills := map[string]string{}
	for _, name := range []string{"blk.0/attn_q", "output", "blk.0/attn_norm", "blk.0/rope_k", "blk.0/attn", "blk.0/kv_write", "blk.0/ffn_swiglu", "blk.0/attn_residual", "embed"} {
		fills[name] = p.nodes[name].Value("fillcolor").(string)
	}
	assert.Equal(t, fills["blk.0/attn_q"], fills["output"], "matmuls share a colour")
	assert.Equal(t, fills["blk.0/rope_k"], fills["blk.0/attn"])
	assert.Equal(t, fills["blk.0/kv_write"], fills["blk.0/attn"])
	assert.Equal(t, fills["blk.0/ffn_swiglu"], fills["blk.0/attn_residual"])
	distinct := map[string]bool{}
	for _, name := range []string{"blk.0/attn_q", "blk.0/attn_norm", "blk.0/attn", "blk.0/ffn_swiglu", "embed"} {
		distinct[fills[name]] = true
	}
	assert.Len(t, distinct, 5, "five op classes, five colours")
}

func TestGraphShowsVariantsAndFusedOutputs(t *testing.T) {
	p := read(t, graphviz.Graph(fusedGraph(t, 4), graphviz.Options{}))
	assert.Equal(t, "matmul_qkv[mt_matvec]\nblk.0/qkv\nW: Q4_0 [32×32]\nW: Q4_0 [16×32]\nW: Q4_0 [16×32]\n→ F32 [4×32]\n→ F32 [4×16]\n→ F32 [4×16]",
		p.nodes["blk.0/qkv"].Value("label"))
	assert.Equal(t, "attention[decode]\nblk.0/attn\n→ F32 [4×32]", p.nodes["blk.0/attn"].Value("label"))
	assert.Equal(t, "matmul[mt_matvec]\noutput\nW: Q8_0 [32×32]\n→ F32 [4×32]", p.nodes["output"].Value("label"))
	assert.Contains(t, p.edges, "blk.0/qkv -> blk.0/rope_kv_write :2 [4×16]")
	assert.Contains(t, p.edges, "blk.0/rope_kv_write -> blk.0/attn :0 [4×32]")
	assert.Contains(t, p.edges, "embed -> blk.0/attn_output [4×32]", "the residual read by matmul_add")
}

// differ makes a block of g compute something else (a sliding window).
func differ(t *testing.T, g *graph.Graph, block string) {
	t.Helper()
	n := g.NodeNamed(block + "/attn")
	require.NotNil(t, n)
	op := n.Op.(ops.AttentionOp)
	op.Window = 4
	n.Op = op
	require.NoError(t, graph.Verify(g))
}

func TestCollapseFoldsRunsOfIdenticalBlocks(t *testing.T) {
	g := toyGraph(t, 4, 1)
	all := read(t, graphviz.Graph(g, graphviz.Options{Collapse: true}))
	assert.Equal(t, []string{"blk.0 … blk.3 ×4 identical"}, all.clusters)
	assert.Len(t, all.nodes, len(g.Nodes)-3*16+2)
	assert.Contains(t, all.edges, "blk.0/ffn_residual -> output_norm [1×16]", "the last block's output, drawn from the first")
	assert.Contains(t, all.edges, "embed -> blk.0/attn_residual [1×16]")
	for _, e := range all.edges {
		assert.False(t, strings.HasPrefix(e, "blk.0/ffn_residual -> blk.0/"), "the chain between hidden copies is not drawn: %s", e)
	}

	differ(t, g, "blk.3")
	p := read(t, graphviz.Graph(g, graphviz.Options{Collapse: true}))
	assert.Equal(t, []string{"blk.0 … blk.2 ×3 identical", "blk.3"}, p.clusters)
	for name := range p.nodes {
		assert.False(t, strings.HasPrefix(name, "blk.1/") || strings.HasPrefix(name, "blk.2/"), "%s is in a folded block", name)
	}
	assert.Contains(t, p.edges, "blk.0/ffn_residual -> blk.3/attn_norm [1×16]")
	assert.Contains(t, p.edges, "blk.3/ffn_residual -> output_norm [1×16]")
	assert.Contains(t, p.nodes["blk.0/attn"].Value("label"), "attention")

	// Only consecutive blocks fold: 0 and 1 alike, 2 differs, 3 like 0.
	g = toyGraph(t, 4, 1)
	differ(t, g, "blk.2")
	p = read(t, graphviz.Graph(g, graphviz.Options{Collapse: true}))
	assert.Equal(t, []string{"blk.0 … blk.1 ×2 identical", "blk.2", "blk.3"}, p.clusters)

	// Without Collapse every block is drawn.
	p = read(t, graphviz.Graph(g, graphviz.Options{}))
	assert.Equal(t, []string{"blk.0", "blk.1", "blk.2", "blk.3"}, p.clusters)
}

func TestCollapseComparesWeightTypes(t *testing.T) {
	g := toyGraph(t, 2, 1)
	w := g.Lookup("blk.1.ffn_down.weight")
	w.Type = quant.F16 // a mixed-quantisation file: same shapes, other type
	require.NoError(t, graph.Verify(g))
	p := read(t, graphviz.Graph(g, graphviz.Options{Collapse: true}))
	assert.Equal(t, []string{"blk.0", "blk.1"}, p.clusters)
}

func TestGraphIsDeterministic(t *testing.T) {
	g := toyGraph(t, 3, 2)
	want := graphviz.Graph(g, graphviz.Options{Collapse: true}).String()
	for range 5 {
		require.Equal(t, want, graphviz.Graph(g.Clone(), graphviz.Options{Collapse: true}).String())
	}
}

func TestGraphGolden(t *testing.T) {
	g4 := toyGraph(t, 4, 1)
	differ(t, g4, "blk.3")
	for _, c := range []struct {
		file string
		g    *graph.Graph
		o    graphviz.Options
	}{
		{"toy.dot", toyGraph(t, 2, 1), graphviz.Options{}},
		{"toy-collapsed.dot", g4, graphviz.Options{Collapse: true}},
		{"fused.dot", fusedGraph(t, 4), graphviz.Options{}},
	} {
		t.Run(c.file, func(t *testing.T) {
			var b strings.Builder
			require.NoError(t, graphviz.WriteGraph(&b, c.g, c.o))
			golden(t, c.file, b.String())
		})
	}
}

func TestGraphOfStories260K(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	g, err := mistral.Build(m.Config, m.Weights, 3)
	require.NoError(t, err)

	p := read(t, graphviz.Graph(g, graphviz.Options{Collapse: true}))
	blocks := len(m.Weights.Blocks)
	require.Greater(t, blocks, 1)
	assert.Equal(t, []string{fmt.Sprintf("blk.0 … blk.%d ×%d identical", blocks-1, blocks)}, p.clusters)
	assert.Len(t, p.nodes, len(g.Nodes)-(blocks-1)*16+2)
	assert.Contains(t, p.nodes["blk.0/attn_q"].Value("label"), "W: F32 [")

	full := read(t, graphviz.Graph(g, graphviz.Options{}))
	assert.Len(t, full.clusters, blocks)
	assert.Len(t, full.nodes, len(g.Nodes)+2)
}
