package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
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
