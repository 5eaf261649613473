package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
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
	assert.Contains(t, errOut, "mrun: graph: "+svgFile+": the dot command of Graphviz is not installed: apt-get install graphviz / brew install graphviz")
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
		{[]string{"graph", "-m", p, "-o", filepath.Join(t.TempDir(), "no", "dir", "g.dot")}, 1, string(filepath.Separator) + filepath.Join("no", "dir") + " does not exist"},
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

// TestGraphOutputSafety: graph checks every file it will write before
// opening the model, and replaces only regular files, only with --force.
func TestGraphOutputSafety(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	dir := t.TempDir()
	dotFile := filepath.Join(dir, "g.dot")
	require.NoError(t, os.WriteFile(dotFile, []byte("mine"), 0o644))
	fifo := filepath.Join(dir, "fifo.dot")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "02-fuse_qkv.dot"), 0o755))
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-m", filepath.Join(dir, "none.gguf"), "-o", dotFile}, dotFile + " already exists (--force replaces it)"},
		{[]string{"-m", p, "-o", fifo, "--force"}, fifo + " is a named pipe (FIFO), not a regular file: refusing to replace it"},
		{[]string{"-m", p, "--after", "fuse_qkv", "-o", dir + "/"}, filepath.Join(dir, "02-fuse_qkv.dot") + " is a directory"},
	} {
		rc, out, errOut := mrun(t, "", append([]string{"graph"}, c.args...)...)
		assert.Equal(t, 1, rc, "%v", c.args)
		assert.Empty(t, out)
		requireOneLine(t, errOut)
		assert.Contains(t, errOut, "mrun: graph: "+c.msg, "%v", c.args)
	}
	data, err := os.ReadFile(dotFile)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(data))

	rc, _, errOut := mrun(t, "", "graph", "-m", p, "-o", dotFile, "--force")
	require.Equal(t, 0, rc, errOut)
	data, err = os.ReadFile(dotFile)
	require.NoError(t, err)
	assert.Equal(t, wantPicture(t, p, 1, false), string(data))

	// A second --after all into the same directory needs --force; the file
	// of a disabled pass is not written, so it does not count.
	sub := filepath.Join(dir, "sub") + "/"
	args := []string{"graph", "-m", p, "--after", "all", "--disable", "fuse_residual", "-o", sub}
	rc, _, errOut = mrun(t, "", args...)
	require.Equal(t, 0, rc, errOut)
	require.NoError(t, os.WriteFile(filepath.Join(sub, "04-fuse_residual.dot"), []byte("kept"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(sub, "00-build.dot")))
	rc, _, errOut = mrun(t, "", args...)
	assert.Equal(t, 1, rc)
	assert.Equal(t, "mrun: graph: "+filepath.Join(sub, "01-dce.dot")+" already exists (--force replaces it)\n", errOut)
	assert.NoFileExists(t, filepath.Join(sub, "00-build.dot"), "nothing is written when a file is refused")
	rc, out, errOut := mrun(t, "", append(args, "--force")...)
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, len(passes.Names()), strings.Count(out, "wrote "))
	data, err = os.ReadFile(filepath.Join(sub, "04-fuse_residual.dot"))
	require.NoError(t, err)
	assert.Equal(t, "kept", string(data))
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

// parsesWithDot checks that Graphviz's dot reads src (every digraph in
// it), when dot is installed; CI must install it.
func parsesWithDot(t *testing.T, src string, graphs int) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Error("Graphviz's dot is missing; CI must install graphviz")
		}
		return
	}
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin = strings.NewReader(src)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	svg, err := cmd.Output()
	require.NoError(t, err, errOut.String())
	assert.Empty(t, errOut.String())
	assert.Equal(t, graphs, strings.Count(string(svg), "<svg"))
}

// qkvNode is the label fuse_qkv's node of block 0 has in a picture.
const qkvNode = `label="matmul_qkv\nblk.0/attn_qkv\n`

func TestGraphAfter(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")

	rc, out, errOut := mrun(t, "", "graph", "-m", p, "--after", "fuse_qkv")
	require.Equal(t, 0, rc, errOut)
	assert.True(t, strings.HasPrefix(out, "// after 02 fuse_qkv\ndigraph"), out[:min(len(out), 80)])
	assert.Equal(t, 1, strings.Count(out, "digraph"))
	assert.Contains(t, out, qkvNode)
	assert.Contains(t, out, "llama/n=1 · N=1 · 73 nodes · after fuse_qkv")
	assert.NotContains(t, out, `label="matmul\nblk.0/attn_q\n`, "the Q mat-vec is fused")

	rc, out, errOut = mrun(t, "", "graph", "-m", p, "--after", "dce")
	require.Equal(t, 0, rc, errOut)
	assert.NotContains(t, out, "matmul_qkv")
	assert.Contains(t, out, `label="matmul\nblk.0/attn_q\n`)

	rc, out, errOut = mrun(t, "", "graph", "-m", p, "--after", "fuse_qkv", "--disable", "dce")
	require.Equal(t, 0, rc, errOut)
	assert.Contains(t, out, qkvNode, "fuse_qkv fuses without dce on a graph with no dead nodes")
}

func TestGraphAfterAll(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	names := append([]string{"build"}, passes.Names()...)
	m, err := mistral.Open(p)
	require.NoError(t, err)
	defer m.Close()
	res := runPipeline(t, m, 2, "fuse_residual")

	rc, out, errOut := mrun(t, "", "graph", "-m", p, "--after", "all", "--collapse", "--tokens", "2", "--disable", "fuse_residual")
	require.Equal(t, 0, rc, errOut)
	// One digraph per pass that ran, numbered by its place in the
	// pipeline, each after its comment line and a blank line.
	var want []string
	for i, n := range names {
		if n != "fuse_residual" {
			want = append(want, fmt.Sprintf("// after %02d %s\n", i, n))
		}
	}
	chunks := strings.SplitAfter(out, "\n}\n")
	require.Len(t, chunks, len(want)+1)
	assert.Empty(t, chunks[len(want)])
	for i, c := range chunks[:len(want)] {
		if i > 0 {
			require.True(t, strings.HasPrefix(c, "\n"), "blank line before %q", want[i])
			c = c[1:]
		}
		require.True(t, strings.HasPrefix(c, want[i]+"digraph"), "chunk %d starts %q", i, c[:min(len(c), 40)])
		assert.Equal(t, i >= 2, strings.Contains(c, `\nblk.0/attn_qkv\n`), "%s: Q/K/V fused from fuse_qkv on", want[i])
		assert.Equal(t, i >= 5, strings.Contains(c, "matmul_gate_up[mt_matvec]"), "%s: variants from select_variants on", want[i])
	}
	assert.Contains(t, chunks[0], "· 83 nodes · 5 blocks drawn as 1 · as built")
	assert.Contains(t, chunks[len(want)-1], fmt.Sprintf("· %d nodes · 5 blocks drawn as 1 · after schedule", len(res.Graph.Nodes)))
	parsesWithDot(t, out, len(want))

	// Files: out.NN-PASS.dot beside -o out.dot, or DIR/NN-PASS.dot.
	dir := t.TempDir()
	rc, out, errOut = mrun(t, "", "graph", "-m", p, "--after", "all", "-o", filepath.Join(dir, "g.dot"), "--passes")
	require.Equal(t, 0, rc, errOut)
	for i, n := range names {
		file := filepath.Join(dir, fmt.Sprintf("g.%02d-%s.dot", i, n))
		assert.Contains(t, out, "wrote "+file+": graph llama/n=1 ")
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Equal(t, i >= 2, strings.Contains(string(data), `\nblk.0/attn_qkv\n`), "%s: Q/K/V fused from fuse_qkv on", file)
	}
	assert.Contains(t, out, "wrote "+filepath.Join(dir, "g.00-build.dot")+": graph llama/n=1 as built, 83 nodes\n")
	assert.Contains(t, out, "\npass ", "the table follows the pictures")

	sub := filepath.Join(dir, "sub") + "/"
	rc, out, errOut = mrun(t, "", "graph", "-m", p, "--after", "fuse_qkv", "-o", sub)
	require.Equal(t, 0, rc, errOut)
	file := filepath.Join(dir, "sub", "02-fuse_qkv.dot")
	assert.Equal(t, "wrote "+file+": graph llama/n=1 after fuse_qkv, 73 nodes\n", out)
	assert.FileExists(t, file)
}

func TestGraphPlan(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	m, err := mistral.Open(p)
	require.NoError(t, err)
	defer m.Close()
	for _, n := range []int{1, 5} {
		rc, out, errOut := mrun(t, "", "graph", "-m", p, "--plan", "--tokens", fmt.Sprint(n))
		require.Equal(t, 0, rc, errOut)
		plan := runPipeline(t, m, n).Plan
		var cost strings.Builder
		require.NoError(t, passes.WriteCost(&cost, plan, min(m.Config.Context, engine.DefaultContext)))
		require.True(t, dotComment(cost.String())+graphviz.Plan(plan).String() == out,
			"the plan's cost as DOT comments, then the library's picture of the pipeline's plan")
		assert.True(t, strings.Contains(out, fmt.Sprintf("plan llama/n=%d · N=%d · 43 dispatches in 2 command buffers", n, n)), "title")
		parsesWithDot(t, out, 1)
	}

	// --ctx sizes the KV cache the plan binds: 5 layers × K and V × 64
	// positions × 32 halves (the default F16 cache).
	rc, out, errOut := mrun(t, "", "graph", "-m", p, "--plan", "--ctx", "64", "--disable", "fuse_qkv")
	require.Equal(t, 0, rc, errOut)
	assert.True(t, strings.Contains(out, `\nkv: 40.00 KiB\n`), "the buffers note shows the KV cache")
	assert.True(t, strings.Contains(out, "· 53 dispatches in 2 command buffers"), "Q, K and V unfused")

	rc, out, errOut = mrun(t, "", "graph", "-m", p, "--passes", "--ctx", "64")
	require.Equal(t, 0, rc, errOut)
	assert.Equal(t, []string{"40.00 KiB", fmt.Sprint(5*2*64*32*2, " B")}, table(t, out)["KV cache"])
}

func TestGraphPassErrors(t *testing.T) {
	p := shareddata.Path(t, "models", "stories260K.gguf")
	list := "(passes: " + strings.Join(passes.Names(), ", ")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		rc   int
		msg  string
	}{
		{[]string{"--after", "frob"}, 2, `--after frob: no pass named "frob" ` + list + ", or all)"},
		{[]string{"--passes", "--disable", "fuse_qkv,frob"}, 2, `--disable fuse_qkv,frob: no pass named "frob" ` + list + ")"},
		{[]string{"--passes", "--disable", "schedule"}, 2, "--disable schedule: pass schedule cannot be disabled: the pipeline's result is the plan"},
		{[]string{"--passes", "--disable", "dce,,fuse_qkv"}, 2, `--disable "dce,,fuse_qkv": empty pass name`},
		{[]string{"--after", "fuse_qkv", "--disable", "fuse_qkv"}, 2, "--after fuse_qkv: pass fuse_qkv is disabled, so there is no graph after it"},
		{[]string{"--after", "dce", "--plan"}, 2, "--after and --plan draw different pictures; choose one"},
		{[]string{"--plan", "--passes"}, 2, "--passes prints a table on standard output; write the picture to a file with -o"},
		{[]string{"--disable", "dce"}, 2, "--disable changes the pipeline; use it with --after, --plan or --passes"},
		{[]string{"--plan", "--collapse"}, 2, "--collapse draws graphs, not plans or tables"},
		{[]string{"--passes", "-o", filepath.Join(dir, "g.dot")}, 2, "-o writes a picture, and --passes alone draws none; add --after or --plan"},
		{[]string{"--plan", "-o", dir}, 2, "-o " + dir + ": a directory holds the graphs after passes (--after); name a file"},
		{[]string{"--after", "all", "-o", "g.png"}, 2, "-o g.png: want a .dot, .gv or .svg file, or a directory DIR/"},
		{[]string{"--ctx", "-1"}, 2, "--ctx -1: must be positive (or 0 for the default)"},
		{[]string{"--plan", "--kv", "q8"}, 2, `--kv "q8": want f32 or f16`},
		{[]string{"--passes", "--ctx", "4096"}, 2, "--ctx 4096 exceeds the model's context of 2048 positions"},
		{[]string{"--passes", "--ctx", "64", "--tokens", "65"}, 1, "step of 65 tokens: must be between 1 and the context length 64"},
	} {
		args := append([]string{"graph", "-m", p}, c.args...)
		rc, out, errOut := mrun(t, "", args...)
		assert.Equal(t, c.rc, rc, "%v: %s", c.args, errOut)
		assert.Empty(t, out, "%v", c.args)
		requireOneLine(t, errOut)
		assert.Contains(t, errOut, c.msg, "%v", c.args)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "bad usage writes nothing")
}

// TestGraphPasses7B prints the --passes tables of a Mistral-7B-shaped
// Q4_0 decode step with and without fusion (run it with -v to see them)
// and checks that both read each weight exactly once: every tensor but
// token_embd, and one token_embd row.
func TestGraphPasses7B(t *testing.T) {
	m := testmodel.Mistral7B(t)
	fusions := []string{"fuse_qkv", "fuse_gate_up", "fuse_residual", "fuse_rope_kv"}
	dispatches := map[bool]int{}
	for _, fused := range []bool{true, false} {
		args := []string{"graph", "-m", m.File.Path(), "--passes"}
		var disable []string
		if !fused {
			disable = fusions
			args = append(args, "--disable", strings.Join(fusions, ","))
		}
		rc, out, errOut := mrun(t, "", args...)
		require.Equal(t, 0, rc, errOut)
		t.Logf("mrun %s\n%s", strings.Join(args[3:], " "), out)
		res := runPipeline(t, m, 1, disable...)
		ideal := idealWeightBytes(m, 1)
		checkTable(t, out, res, ideal, fmt.Sprintf("fused=%v", fused))
		st := res.Plan.Stats()
		assert.Equal(t, ideal, st.WeightBytesRead, "fused=%v: each weight read once", fused)
		assert.Contains(t, out, "\nweights read: 1.000× the ideal\n")
		assert.Equal(t, int64(32*2*4096*1024*2), st.KVBytes, "32 layers × K and V × 4096 positions × 8 heads of 128 F16 (the default cache)")
		dispatches[fused] = st.Dispatches
	}
	assert.Equal(t, dispatches[true]+8*m.Config.Layers, dispatches[false], "fusion saves 8 dispatches a layer")
}

// TestGraphPlanCost7B states the cost of a Mistral-7B-shaped Q4_0 decode
// step at a 4096-token context with F32 and F16 caches (run it with -v to
// see the reports): the cache read per token is 32 layers × K and V × 4096
// positions × 8 heads of 128, in 4 or 2 bytes, and one row of each is
// written.
func TestGraphPlanCost7B(t *testing.T) {
	m := testmodel.Mistral7B(t)
	dir := t.TempDir()
	for _, kv := range []struct {
		name  string
		bytes int64
	}{{"f32", 4}, {"f16", 2}} {
		file := filepath.Join(dir, kv.name+".dot")
		rc, out, errOut := mrun(t, "", "graph", "-m", m.File.Path(), "--plan", "--ctx", "4096", "--kv", kv.name, "-o", file)
		require.Equal(t, 0, rc, errOut)
		t.Logf("--kv %s:\n%s", kv.name, out)
		lines := strings.Split(out, "\n")
		require.True(t, strings.HasPrefix(lines[0], "wrote "+file+": plan "), lines[0])
		assert.Regexp(t, `^plan synth-mistral-7b-q4_0-seed0/n=1, N=1, KV cache at 4096 positions: bytes moved per token$`, lines[1])
		rows := table(t, strings.Join(lines[2:], "\n"))
		read, written := 32*2*4096*1024*kv.bytes, 32*2*1024*kv.bytes
		assert.Equal(t, fmt.Sprint(read, " B"), rows["KV cache read"][1], kv.name)
		assert.Equal(t, fmt.Sprint(written, " B"), rows["KV cache written"][1], kv.name)
		st := runPipeline(t, m, 1).Plan.Stats()
		assert.Equal(t, fmt.Sprint(st.WeightBytesRead, " B"), rows["weights"][1], kv.name)
		assert.Equal(t, []string{fmt.Sprint(st.Dispatches), fmt.Sprint(st.Barriers)}, rows["all"], kv.name)
	}
}
