// The golden tests read GGUF files through the gguf package, which itself
// imports quant, so they live in the external test package.
package quant_test

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// openModel opens a shared GGUF model by base name, looking in models/ and
// models/derived/.
func openModel(t *testing.T, base string) *gguf.File {
	t.Helper()
	dir := shareddata.Path(t, "models")
	for _, p := range []string{filepath.Join(dir, base+".gguf"), filepath.Join(dir, "derived", base+".gguf")} {
		if _, err := os.Stat(p); err == nil {
			f, err := gguf.Open(p)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return f
		}
	}
	t.Fatalf("model %s.gguf not found under %s", base, dir)
	return nil
}

// tensorRows returns the type, row length and raw bytes of the first nrows
// rows of the named tensor.
func tensorRows(t *testing.T, f *gguf.File, name string, nrows int) (quant.Type, int, [][]byte) {
	t.Helper()
	ti, ok := f.Tensor(name)
	require.True(t, ok, "tensor %s not in %s", name, f.Path())
	data := f.TensorData(ti)
	require.NotNil(t, data, "tensor %s data", name)
	n := int(ti.Dims[0])
	rb, err := quant.RowBytes(ti.Type, int64(n))
	require.NoError(t, err)
	require.LessOrEqual(t, int64(nrows), ti.Rows())
	rows := make([][]byte, nrows)
	for r := range rows {
		rows[r] = data[int64(r)*rb : int64(r+1)*rb]
	}
	return ti.Type, n, rows
}

// goldenDequant is one file of golden/dequant: rows of float32 values.
type goldenDequant struct {
	tensor string
	typ    string
	ne0    int
	rows   [][]float32
}

func readGoldenDequant(t *testing.T, path string) goldenDequant {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	var g goldenDequant
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "tensor":
			g.tensor = f[1]
		case "type":
			g.typ = f[1]
		case "shape":
			g.ne0, err = strconv.Atoi(f[1])
			require.NoError(t, err)
		case "row":
			r, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			require.Equal(t, len(g.rows), r, "rows in order")
			vals := make([]float32, len(f)-2)
			for i, s := range f[2:] {
				v, err := strconv.ParseFloat(s, 32)
				require.NoError(t, err)
				vals[i] = float32(v)
			}
			g.rows = append(g.rows, vals)
		default:
			t.Fatalf("%s: unknown record %q", path, f[0])
		}
	}
	require.NoError(t, sc.Err())
	return g
}

// TestDequantizeGolden decodes the first rows of real tensors and compares
// every value bit for bit with ggml's own dequantisation.
func TestDequantizeGolden(t *testing.T) {
	dir := shareddata.Path(t, "models", "golden", "dequant")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	seen := map[string]bool{}
	for _, path := range files {
		g := readGoldenDequant(t, path)
		base := strings.TrimSuffix(filepath.Base(path), "."+g.tensor+".txt")
		t.Run(base+"/"+g.tensor, func(t *testing.T) {
			typ, n, rows := tensorRows(t, openModel(t, base), g.tensor, len(g.rows))
			require.Equal(t, g.typ, typ.String())
			require.Equal(t, g.ne0, n)
			seen[g.typ] = true
			got := make([]float32, n)
			for r, raw := range rows {
				require.NoError(t, quant.DequantizeRow(typ, raw, got))
				require.Len(t, g.rows[r], n)
				for i, want := range g.rows[r] {
					if math.Float32bits(got[i]) != math.Float32bits(want) {
						t.Fatalf("row %d element %d: got %g (%#08x), want %g (%#08x)",
							r, i, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
					}
				}
			}
		})
	}
	for _, typ := range []string{"Q4_0", "Q6_K", "Q8_0", "F16"} {
		require.True(t, seen[typ], "no golden for %s", typ)
	}
}
