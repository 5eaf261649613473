package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// wantPicture is the library's picture of the model's step of n tokens.
func wantPicture(t *testing.T, path string, n int, collapse bool) string {
	t.Helper()
	m, err := mistral.Open(path)
	require.NoError(t, err)
	defer m.Close()
	g, err := mistral.Build(m.Config, m.Weights, n)
	require.NoError(t, err)
	return graphviz.Graph(g, graphviz.Options{Collapse: collapse}).String()
}

func TestGraphWritesDOT(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	layers := facts["stories260K.gguf"].layers

	rc, out, errOut := mrun(t, "", "graph", "-m", p)
	require.Equal(t, 0, rc, errOut)
	assert.Empty(t, errOut)
	assert.Equal(t, wantPicture(t, p, 1, false), out)
	assert.True(t, strings.HasPrefix(out, "digraph"))
	assert.Equal(t, layers, strings.Count(out, "subgraph cluster_"), "one cluster per block")
	assert.Contains(t, out, `label="matmul\nblk.0/attn_q\nW: F32 [`)
	assert.Contains(t, out, "N=1 ·")

	rc, out, errOut = mrun(t, "", "graph", "--collapse", "--model", p, "--tokens", "3")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, wantPicture(t, p, 3, true), out)
	assert.Equal(t, 1, strings.Count(out, "subgraph cluster_"))
	assert.Contains(t, out, "blk.0 … blk.4 ×5 identical")
	assert.Contains(t, out, "→ F32 [3×")
}

func TestGraphWritesFiles(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	dir := t.TempDir()

	dotFile := filepath.Join(dir, "g.dot")
	rc, out, errOut := mrun(t, "", "graph", "-m", p, "-o", dotFile, "--collapse")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, "wrote "+dotFile+": graph llama/n=1, 83 nodes\n", out)
	written, err := os.ReadFile(dotFile)
	require.NoError(t, err)
	assert.Equal(t, wantPicture(t, p, 1, true), string(written))

	svgFile := filepath.Join(dir, "g.svg")
	if _, err := exec.LookPath("dot"); err == nil {
		rc, _, errOut = mrun(t, "", "graph", "-m", p, "-o", svgFile)
		require.Equal(t, 0, rc, errOut)
		svg, err := os.ReadFile(svgFile)
		require.NoError(t, err)
		assert.Contains(t, string(svg), "<svg")
		assert.Contains(t, string(svg), "blk.4/ffn_down")
		require.NoError(t, os.Remove(svgFile))
	} else if os.Getenv("CI") == "true" {
		t.Error("Graphviz's dot is missing; CI must install graphviz")
	}

	t.Setenv("PATH", t.TempDir()) // no dot
	rc, out, errOut = mrun(t, "", "graph", "-m", p, "-o", svgFile)
	assert.Equal(t, 1, rc)
	assert.Empty(t, out)
	requireOneLine(t, errOut)
	assert.Contains(t, errOut, "mrun: graph: "+svgFile+": Graphviz's dot is not installed: apt-get install graphviz / brew install graphviz")
	assert.NoFileExists(t, svgFile)
}

func TestGraphErrors(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"graph"}, 2, "-m FILE is required"},
		{[]string{"graph", "-m", p, "extra"}, 2, `unexpected arguments ["extra"]`},
		{[]string{"graph", "-m", p, "--tokens", "0"}, 2, "--tokens 0: a step has at least one token"},
		{[]string{"graph", "-m", p, "-o", "g.png"}, 2, "-o g.png: want a .dot, .gv or .svg file"},
		{[]string{"graph", "-m", p, "--tokens", "100000"}, 1, "step of 100000 tokens: must be between 1 and the context length"},
		{[]string{"graph", "-m", filepath.Join(t.TempDir(), "none.gguf")}, 1, "none.gguf"},
		{[]string{"graph", "-m", p, "-o", filepath.Join(t.TempDir(), "no", "dir", "g.dot")}, 1, "no such file or directory"},
	} {
		rc, out, errOut := mrun(t, "", c.args...)
		assert.Equal(t, c.rc, rc, "%v: %s", c.args, errOut)
		assert.Empty(t, out, "%v", c.args)
		requireOneLine(t, errOut)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}

	rc, out, _ := mrun(t, "", "help")
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, "\n  graph ")
}

// runPipeline runs the passes over the model's step of n tokens as mrun
// graph does by default: the KV cache capped at the engine's default.
func runPipeline(t *testing.T, m *mistral.Model, n int, disable ...string) *passes.Result {
	t.Helper()
	cfg := m.Config
	cfg.Context = min(cfg.Context, engine.DefaultContext)
	g, err := mistral.Build(cfg, m.Weights, n)
	require.NoError(t, err)
	res, err := passes.Run(g, passes.Target{Weights: m.Weights, WeightsSize: m.File.Size()}, passes.Options{Disable: disable})
	require.NoError(t, err)
	return res
}

// idealWeightBytes is every weight tensor read once, except the embedding
// table, of which a step needs its n tokens' rows (unless the output
// matrix is the same table).
func idealWeightBytes(m *mistral.Model, n int) int64 {
	var sum int64
	for _, w := range m.Weights.All() {
		if w == m.Weights.TokenEmbd && !m.Config.TiedEmbeddings {
			sum += int64(n) * int64(len(w.Data)) / int64(w.Shape[0])
		} else {
			sum += int64(len(w.Data))
		}
	}
	return sum
}

// table splits mrun graph --passes output into rows of cells, by the
// first cell (cells are separated by at least two spaces).
func table(t *testing.T, out string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var cells []string
		for _, c := range strings.Split(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
		if len(cells) > 0 {
			rows[cells[0]] = cells[1:]
		}
	}
	return rows
}

// checkTable checks a --passes table against the pipeline's own result.
func checkTable(t *testing.T, out string, res *passes.Result, ideal int64, name string) {
	t.Helper()
	rows := table(t, out)
	for _, s := range res.Stats {
		row := rows[s.Pass]
		require.Len(t, row, 3, "%s: row of pass %s in\n%s", name, s.Pass, out)
		assert.Equal(t, s.Skipped, row[0] == "skipped", "%s: %s", name, s.Pass)
		assert.Equal(t, []string{fmt.Sprint(s.NodesBefore), fmt.Sprint(s.NodesAfter)}, row[1:], "%s: %s", name, s.Pass)
	}
	st := res.Plan.Stats()
	p := res.Plan
	assert.Contains(t, rows, fmt.Sprintf("plan %s, N=%d", p.Name, p.N), name)
	assert.Equal(t, []string{fmt.Sprint(st.Dispatches)}, rows["dispatches"], name)
	assert.Equal(t, []string{fmt.Sprint(st.Barriers)}, rows["barriers"], name)
	assert.Equal(t, []string{fmt.Sprint(st.CommandBuffers)}, rows["command buffers"], name)
	for row, v := range map[string]int64{
		"arena": st.ArenaBytes, "KV cache": st.KVBytes, "weights read per step": st.WeightBytesRead,
		"ideal: each weight once": ideal, "activations per step": st.ActivationBytes,
	} {
		require.Len(t, rows[row], 2, "%s: row %s in\n%s", name, row, out)
		assert.Equal(t, fmt.Sprintf("%d B", v), rows[row][1], "%s: %s", name, row)
		assert.Regexp(t, `^\d+(\.\d\d [KMGT]iB| B)$`, rows[row][0], "%s: %s", name, row)
	}
}

func TestGraphPassesEveryModel(t *testing.T) {
	root := shareddata.Path(t, "models")
	var models []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "vocab":
			return filepath.SkipDir // tokenizer fixtures: no tensors
		case strings.HasSuffix(p, ".gguf"):
			models = append(models, p)
		}
		return nil
	}))
	require.GreaterOrEqual(t, len(models), 10)
	for _, p := range models {
		name, _ := filepath.Rel(root, p)
		m, err := mistral.Open(p)
		require.NoError(t, err, name)
		for _, n := range []int{1, 3} {
			rc, out, errOut := mrun(t, "", "graph", "-m", p, "--passes", "--tokens", fmt.Sprint(n))
			require.Equal(t, 0, rc, "%s: %s", name, errOut)
			assert.Empty(t, errOut)
			res := runPipeline(t, m, n)
			ideal := idealWeightBytes(m, n)
			checkTable(t, out, res, ideal, fmt.Sprintf("%s n=%d", name, n))
			if n == 1 {
				assert.Contains(t, out, "\nweights read: 1.000× the ideal\n", "%s: decode reads each weight once", name)
			} else {
				st := res.Plan.Stats()
				assert.Equal(t, fmt.Sprintf("%d B", st.WeightBytesRead/3), table(t, out)["weights read per token"][1], name)
			}
		}
		m.Close()
	}
}

func TestGraphPassesDisable(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	layers := facts["stories260K.gguf"].layers
	dispatches := func(args ...string) int {
		rc, out, errOut := mrun(t, "", append([]string{"graph", "-m", p, "--passes"}, args...)...)
		require.Equal(t, 0, rc, errOut)
		var n int
		_, err := fmt.Sscan(table(t, out)["dispatches"][0], &n)
		require.NoError(t, err)
		return n
	}
	fused := dispatches()
	// Unfused, each layer runs Q, K and V as three mat-vecs, not one.
	assert.Equal(t, fused+2*layers, dispatches("--disable", "fuse_qkv"))
	// Every fusion saves 8 dispatches a layer: 2 for Q/K/V, 2 for
	// gate/up/SiLU·mul, 1 per residual add, 2 for rope/rope/kv_write.
	assert.Equal(t, fused+8*layers, dispatches("--disable", "fuse_qkv, fuse_gate_up,fuse_residual,fuse_rope_kv"))

	rc, out, errOut := mrun(t, "", "graph", "-m", p, "--passes", "--disable", "fuse_qkv,dce")
	require.Equal(t, 0, rc, errOut)
	m, err := mistral.Open(p)
	require.NoError(t, err)
	defer m.Close()
	checkTable(t, out, runPipeline(t, m, 1, "fuse_qkv", "dce"), idealWeightBytes(m, 1), "disabled")
	assert.Equal(t, "skipped", table(t, out)["dce"][0])
}
