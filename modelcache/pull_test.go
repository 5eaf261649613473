package modelcache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/modelcache"
)

// hub behaves like huggingface.co for LFS files: the resolve URL answers
// 302 to a CDN with the object's sha256 (X-Linked-Etag) and size; the CDN
// serves ranges. It can drop a connection, lie about the checksum or
// ignore ranges.
type hub struct {
	files map[string][]byte // "OWNER/REPO/FILE" → content
	// dropAfter cuts the next N CDN answers after this many bytes.
	dropAfter int
	drops     int
	wrongSHA  bool
	noRanges  bool

	mu     sync.Mutex
	ranges []string // the Range header of each CDN request
}

func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		h.cdn(w, r, name)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" || parts[3] != "main" {
		http.NotFound(w, r)
		return
	}
	name := parts[0] + "/" + parts[1] + "/" + parts[4]
	data, ok := h.files[name]
	if !ok {
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	sum := sha256.Sum256(data)
	if h.wrongSHA {
		sum[0] ^= 1
	}
	w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
	w.Header().Set("X-Linked-Size", fmt.Sprint(len(data)))
	w.Header().Set("Etag", `W/"a1b2c3"`) // the git blob's, not a sha256
	http.Redirect(w, r, "/cdn/"+name+"?signature=secret", http.StatusFound)
}

func (h *hub) cdn(w http.ResponseWriter, r *http.Request, name string) {
	h.mu.Lock()
	h.ranges = append(h.ranges, r.Header.Get("Range"))
	drop := h.drops > 0
	if drop {
		h.drops--
	}
	h.mu.Unlock()
	if h.noRanges {
		r.Header.Del("Range")
	}
	data := h.files[name]
	if !drop {
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data[:h.dropAfter])
	panic(http.ErrAbortHandler) // the connection drops mid-body
}

func model(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}

func pull(t *testing.T, h *hub, dir, name string) (string, bool, error) {
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
	h := &hub{files: map[string][]byte{"owner/repo/sub/m.gguf": data}, dropAfter: 100_000, drops: 1}
	dir := t.TempDir()
	path, verified, err := pull(t, h, dir, "owner/repo/sub/m.gguf")
	require.NoError(t, err)
	require.True(t, verified)
	require.Equal(t, filepath.Join(dir, "owner", "repo", "sub", "m.gguf"), path)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Equal(t, []string{"", "bytes=100000-"}, h.ranges, "the second request resumed")
	requireNoPartial(t, dir)

	entries, err := modelcache.Cache{Dir: dir}.List()
	require.NoError(t, err)
	require.Equal(t, []modelcache.Entry{{Name: "owner/repo/sub/m.gguf", Size: 300_000, Path: path}}, entries)
	found, ok := modelcache.Cache{Dir: dir}.Lookup("owner/repo/sub/m.gguf")
	require.True(t, ok)
	require.Equal(t, path, found)

	// Cached: no request at all.
	h.ranges = nil
	_, _, err = pull(t, h, dir, "owner/repo/sub/m.gguf")
	require.NoError(t, err)
	require.Empty(t, h.ranges)
}

func TestPullResumesAnEarlierPartialDownload(t *testing.T) {
	data := model(50_000)
	dir := t.TempDir()
	dest := filepath.Join(dir, "o", "r", "m.gguf")
	require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
	require.NoError(t, os.WriteFile(dest+".partial", data[:20_000], 0o644))
	h := &hub{files: map[string][]byte{"o/r/m.gguf": data}}
	_, verified, err := pull(t, h, dir, "o/r/m.gguf")
	require.NoError(t, err)
	require.True(t, verified)
	require.Equal(t, []string{"bytes=20000-"}, h.ranges)
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
	h := &hub{files: map[string][]byte{"o/r/m.gguf": data}, noRanges: true}
	_, _, err := pull(t, h, dir, "o/r/m.gguf")
	require.NoError(t, err)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

func TestPullDeletesAFileWithTheWrongChecksum(t *testing.T) {
	h := &hub{files: map[string][]byte{"o/r/m.gguf": model(10_000)}, wrongSHA: true}
	dir := t.TempDir()
	_, _, err := pull(t, h, dir, "o/r/m.gguf")
	require.ErrorIs(t, err, modelcache.ErrChecksum)
	require.ErrorContains(t, err, "download o/r/m.gguf: checksum mismatch: the file's sha256 is ")
	_, ok := modelcache.Cache{Dir: dir}.Lookup("o/r/m.gguf")
	require.False(t, ok)
	requireNoPartial(t, dir)
}

func TestPullFailures(t *testing.T) {
	h := &hub{files: map[string][]byte{"o/r/m.gguf": model(10_000)}, dropAfter: 10, drops: 100}
	dir := t.TempDir()
	_, _, err := pull(t, h, dir, "o/r/missing.gguf")
	require.ErrorContains(t, err, "o/r/missing.gguf: not found on the hub (http://")
	_, _, err = pull(t, h, dir, "o/r/m.gguf")
	require.ErrorContains(t, err, "download o/r/m.gguf: ")
	require.ErrorContains(t, err, "EOF (run pull again to resume)")
	require.NotContains(t, err.Error(), "secret", "the CDN link's signature is not printed")
	require.Len(t, h.ranges, 4, "one try and three resumes")
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
