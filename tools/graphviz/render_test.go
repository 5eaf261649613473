package graphviz_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// needDot skips without Graphviz, except under CI, which installs it.
func needDot(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Graphviz's dot is missing; CI must install graphviz")
		}
		t.Skip("the dot command of Graphviz is not installed: apt-get install graphviz / brew install graphviz")
	}
}

// TestGoldenFilesRender runs every golden file through dot and requires
// an SVG and no warning (a bad attribute or cluster name warns).
func TestGoldenFilesRender(t *testing.T) {
	needDot(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.dot"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			require.NoError(t, err)
			var out, errOut bytes.Buffer
			cmd := exec.Command("dot", "-Tsvg")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(src), &out, &errOut
			require.NoError(t, cmd.Run(), errOut.String())
			assert.Empty(t, errOut.String())

			svg, err := graphviz.RenderSVG(src)
			require.NoError(t, err)
			assert.Equal(t, out.Bytes(), svg)
			assert.Contains(t, string(svg), "<svg")
			assert.Contains(t, string(svg), "blk.0")
		})
	}
}

func TestRenderSVGReportsDotErrors(t *testing.T) {
	needDot(t)
	_, err := graphviz.RenderSVG([]byte("digraph { a -> "))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "dot -Tsvg")
	assert.Contains(t, err.Error(), "syntax error")
}

func TestRenderSVGWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := graphviz.RenderSVG([]byte("digraph {}"))
	require.ErrorIs(t, err, graphviz.ErrNoDot)
	assert.Equal(t, "the dot command of Graphviz is not installed: apt-get install graphviz / brew install graphviz", err.Error())
}
