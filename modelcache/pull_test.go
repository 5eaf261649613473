package modelcache_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/fakehub"
	"github.com/metalgraph/metalgraph/modelcache"
)

func model(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}

func pull(t *testing.T, h *fakehub.Hub, dir, name string) (modelcache.Pulled, error) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ref, err := modelcache.ParseRef(name)
	require.NoError(t, err)
	var last int64
	p := modelcache.Puller{BaseURL: ts.URL, Progress: func(done, total int64) {
		require.GreaterOrEqual(t, done, last)
		require.LessOrEqual(t, done, total)
		last = done
	}}
	return p.Pull(context.Background(), modelcache.Cache{Dir: dir}, ref)
}

func TestPullFollowsTheRedirectResumesADroppedConnectionAndVerifies(t *testing.T) {
	data := model(300_000)
	h := &fakehub.Hub{Files: map[string][]byte{"owner/repo/sub/m.gguf": data}, DropAfter: 100_000, Drops: 1}
	dir := t.TempDir()
	res, err := pull(t, h, dir, "owner/repo/sub/m.gguf")
	require.NoError(t, err)
	path := filepath.Join(dir, "owner", "repo", "sub", "m.gguf")
	require.Equal(t, modelcache.Pulled{Path: path, Downloaded: true, Verified: true}, res)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Equal(t, []string{"", "bytes=100000-"}, h.Ranges(), "the second request resumed")
	requireNoPartial(t, dir)

	entries, err := modelcache.Cache{Dir: dir}.List()
	require.NoError(t, err)
	require.Equal(t, []modelcache.Entry{{Name: "owner/repo/sub/m.gguf", Size: 300_000, Path: path}}, entries)
	found, ok := modelcache.Cache{Dir: dir}.Lookup("owner/repo/sub/m.gguf")
	require.True(t, ok)
	require.Equal(t, path, found)

	// Cached: no request at all.
	h.ResetRanges()
	res, err = pull(t, h, dir, "owner/repo/sub/m.gguf")
	require.NoError(t, err)
	require.Equal(t, modelcache.Pulled{Path: path}, res)
	require.Empty(t, h.Ranges())
}

func TestPullResumesAnEarlierPartialDownload(t *testing.T) {
	data := model(50_000)
	dir := t.TempDir()
	dest := filepath.Join(dir, "o", "r", "m.gguf")
	require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
	require.NoError(t, os.WriteFile(dest+".partial", data[:20_000], 0o644))
	h := &fakehub.Hub{Files: map[string][]byte{"o/r/m.gguf": data}}
	res, err := pull(t, h, dir, "o/r/m.gguf")
	require.NoError(t, err)
	require.True(t, res.Verified)
	require.Equal(t, []string{"bytes=20000-"}, h.Ranges())
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestPullRestartsWhenTheServerIgnoresRanges(t *testing.T) {
	data := model(50_000)
	dir := t.TempDir()
	dest := filepath.Join(dir, "o", "r", "m.gguf")
	require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
	require.NoError(t, os.WriteFile(dest+".partial", data[:20_000], 0o644))
	h := &fakehub.Hub{Files: map[string][]byte{"o/r/m.gguf": data}, NoRanges: true}
	_, err := pull(t, h, dir, "o/r/m.gguf")
	require.NoError(t, err)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestPullDeletesAFileWithTheWrongChecksum(t *testing.T) {
	h := &fakehub.Hub{Files: map[string][]byte{"o/r/m.gguf": model(10_000)}, WrongSHA: true}
	dir := t.TempDir()
	_, err := pull(t, h, dir, "o/r/m.gguf")
	require.ErrorIs(t, err, modelcache.ErrChecksum)
	require.ErrorContains(t, err, "download o/r/m.gguf: checksum mismatch: the file's sha256 is ")
	_, ok := modelcache.Cache{Dir: dir}.Lookup("o/r/m.gguf")
	require.False(t, ok)
	requireNoPartial(t, dir)
}

func TestPullFailures(t *testing.T) {
	h := &fakehub.Hub{Files: map[string][]byte{"o/r/m.gguf": model(10_000)}, DropAfter: 10, Drops: 100}
	dir := t.TempDir()
	_, err := pull(t, h, dir, "o/r/missing.gguf")
	require.ErrorContains(t, err, "o/r/missing.gguf: not found on the hub (http://")
	_, err = pull(t, h, dir, "o/r/m.gguf")
	require.ErrorContains(t, err, "download o/r/m.gguf: ")
	require.ErrorContains(t, err, "EOF (run pull again to resume)")
	require.NotContains(t, err.Error(), "secret", "the CDN link's signature is not printed")
	require.Len(t, h.Ranges(), 4, "one try and three resumes")
}

func TestParseRefRefusesNamesOutsideTheCache(t *testing.T) {
	for _, name := range []string{"m.gguf", "o/m.gguf", "o/r/m.bin", "../r/m.gguf", "o/../m.gguf", "o/r/../../x.gguf",
		"/o/r/m.gguf", "o//r/m.gguf", "o/r/.hidden.gguf", `o\r/x/m.gguf`, "o/r/m .gguf"} {
		_, err := modelcache.ParseRef(name)
		require.Error(t, err, name)
	}
	r, err := modelcache.ParseRef("ggml-org/models/tinyllamas/stories260K.gguf")
	require.NoError(t, err)
	require.Equal(t, modelcache.Ref{Repo: "ggml-org/models", File: "tinyllamas/stories260K.gguf"}, r)
}

func requireNoPartial(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, _ os.DirEntry, _ error) error {
		require.False(t, strings.HasSuffix(path, ".partial"), path)
		return nil
	})
}

func TestDefaultCacheFolder(t *testing.T) {
	t.Setenv(modelcache.EnvDir, "")
	t.Setenv("XDG_CACHE_HOME", "/x/cache")
	c, err := modelcache.Default()
	require.NoError(t, err)
	if runtime.GOOS == "linux" { // elsewhere the OS's own cache folder
		require.Equal(t, "/x/cache/metalgraph", c.Dir)
	}
	require.Equal(t, "metalgraph", filepath.Base(c.Dir))
	t.Setenv(modelcache.EnvDir, "/elsewhere")
	c, err = modelcache.Default()
	require.NoError(t, err)
	require.Equal(t, "/elsewhere", c.Dir)
}
