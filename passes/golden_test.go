package passes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// update rewrites the golden files: go test ./passes -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with the file testdata/<rel>, or rewrites the
// file when -update is set.
func checkGolden(t *testing.T, rel string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", rel)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./passes -update")
	require.Equal(t, string(want), string(got), "%s differs; if the change is intended, run go test ./passes -update and review the diff", path)
}

// goldenDOT checks the DOT pictures of a pass's input and output against
// testdata/<pass>/before.dot and after.dot.
func goldenDOT(t *testing.T, pass string, before, after *graph.Graph) {
	t.Helper()
	for name, g := range map[string]*graph.Graph{"before.dot": before, "after.dot": after} {
		var b bytes.Buffer
		require.NoError(t, graphviz.WriteGraph(&b, g, graphviz.Options{}))
		checkGolden(t, filepath.Join(pass, name), b.Bytes())
	}
}
