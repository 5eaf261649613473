package cudart

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

func TestSourceOrder(t *testing.T) {
	src, err := Source()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(src, "#line 1 \"common.cuh\"\n"))
	for _, f := range []string{"attention.cu", "elementwise.cu", "matvec.cu"} {
		require.Contains(t, src, "#line 1 \""+f+"\"\n")
	}
	require.NotContains(t, src, "#include", "NVRTC compiles it without the toolkit's headers")
}

func TestUnits(t *testing.T) {
	for name, want := range map[string]string{"matvec_q4_0": "mat_q4_0", "matmul_q6_k_gate_up": "mat_q6_k",
		"mtmatvec_bf16_acc": "mat_bf16", "embed_q4_0": "base", "attn_decode_f16": "base", "add": "base"} {
		c, err := plan.Lookup(name)
		require.NoError(t, err)
		require.Equal(t, want, UnitOf(c), name)
	}
	require.Equal(t, []string{"--gpu-architecture=sm_90", "--std=c++17", "-default-device", "--prec-div=true",
		"--prec-sqrt=true", "--ftz=false", "-DMAT_Q4_K"}, CompileOptions(90, "mat_q4_k"))
	require.NotContains(t, strings.Join(CompileOptions(90, "base"), " "), "-D")
	// Every weight type has its unit's define in types.cu.
	src, err := kernelFiles.ReadFile("kernels/types.cu")
	require.NoError(t, err)
	for _, wt := range plan.WeightTypes {
		require.Contains(t, string(src), "#ifdef MAT_"+strings.ToUpper(wt.String())+"\n", wt)
	}
	require.Equal(t, "mat_"+strings.ToLower(quant.Q5_K.String()), "mat_q5_k")
}

// TestCacheKey: any change of source, unit, architecture, driver or NVRTC
// names another file.
func TestCacheKey(t *testing.T) {
	base := CacheKey("src", "base", 90, 13000, "13.0")
	require.True(t, strings.HasPrefix(base, "base-"))
	require.Equal(t, base, CacheKey("src", "base", 90, 13000, "13.0"))
	for _, other := range []string{
		CacheKey("src2", "base", 90, 13000, "13.0"), CacheKey("src", "mat_q4_0", 90, 13000, "13.0"),
		CacheKey("src", "base", 89, 13000, "13.0"), CacheKey("src", "base", 90, 12080, "13.0"),
		CacheKey("src", "base", 90, 13000, "12.8"),
	} {
		require.NotEqual(t, base, other)
	}
}

// TestCachedCubin: the first use compiles and stores, the next reads the
// file without compiling; without a usable directory it compiles every
// time and still succeeds; a compile error is returned and nothing is
// stored.
func TestCachedCubin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cuda")
	builds := 0
	build := func() ([]byte, error) { builds++; return []byte("cubin"), nil }
	b, cached, err := cachedCubin(dir, "k1", build)
	require.NoError(t, err)
	require.False(t, cached)
	require.Equal(t, "cubin", string(b))
	b, cached, err = cachedCubin(dir, "k1", build)
	require.NoError(t, err)
	require.True(t, cached)
	require.Equal(t, "cubin", string(b))
	require.Equal(t, 1, builds)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")

	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	_, cached, err = cachedCubin(filepath.Join(blocker, "cuda"), "k1", build)
	require.NoError(t, err)
	require.False(t, cached)
	_, _, err = cachedCubin("", "k1", build)
	require.NoError(t, err)
	require.Equal(t, 3, builds)

	_, _, err = cachedCubin(dir, "k2", func() ([]byte, error) { return nil, errors.New("syntax error") })
	require.EqualError(t, err, "syntax error")
	_, err = os.Stat(filepath.Join(dir, "k2.cubin"))
	require.True(t, os.IsNotExist(err))
}

func TestCacheDir(t *testing.T) {
	t.Setenv("MRUN_CACHE", "/tmp/mc")
	require.Equal(t, "/tmp/mc/cuda", cacheDir())
	t.Setenv("MRUN_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/tmp/xdg")
	require.Equal(t, "/tmp/xdg/metalgraph/cuda", cacheDir())
}
