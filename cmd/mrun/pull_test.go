package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/fakehub"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/modelcache"
)

// TestPullListAndRunByName pulls stories260K from a fake hub (which drops
// the first connection), lists it, and runs it by its cached name.
func TestPullListAndRunByName(t *testing.T) {
	data, err := os.ReadFile(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	const name = "ggml-org/models/tinyllamas/stories260K.gguf"
	hub := &fakehub.Hub{Files: map[string][]byte{name: data}, DropAfter: 400_000, Drops: 1}
	ts := httptest.NewServer(hub)
	defer ts.Close()
	cache := t.TempDir()
	t.Setenv(modelcache.EnvDir, cache)

	rc, out, stderr := mrun(t, "", "list")
	assert.Equal(t, 0, rc)
	assert.Empty(t, out)
	assert.Equal(t, "no models in "+cache+" (get one with 'mrun pull OWNER/REPO/FILE.gguf')\n", stderr)

	rc, out, stderr = mrun(t, "", "pull", name, "--base-url", ts.URL)
	require.Equal(t, 0, rc, stderr)
	path := filepath.Join(cache, "ggml-org", "models", "tinyllamas", "stories260K.gguf")
	assert.Equal(t, path+"\n", out)
	assert.Contains(t, stderr, "pulling "+name+": 100%")
	assert.True(t, strings.HasSuffix(stderr, name+": sha256 verified\n"), stderr)
	assert.Equal(t, []string{"", "bytes=400000-"}, hub.Ranges())

	rc, out, stderr = mrun(t, "", "pull", name, "--base-url", ts.URL)
	assert.Equal(t, 0, rc)
	assert.Equal(t, path+"\n", out)
	assert.Equal(t, name+" is already cached\n", stderr)

	rc, out, _ = mrun(t, "", "list")
	assert.Equal(t, 0, rc)
	assert.Equal(t, "NAME                                         SIZE\n"+name+"  1.13 MiB\n", out)

	rc, out, stderr = mrun(t, "", "run", "-m", name, "-p", "Once upon a time", "-n", "8", "--temp", "0")
	require.Equal(t, 0, rc, stderr)
	assert.Equal(t, ", there was a little girl\n", out) // llama.cpp's first 8 greedy tokens
}

func TestPullErrors(t *testing.T) {
	hub := &fakehub.Hub{Files: map[string][]byte{"o/r/m.gguf": []byte("GGUF"), "o/r/bad.gguf": []byte("GGUF")}, WrongSHA: true}
	ts := httptest.NewServer(hub)
	defer ts.Close()
	t.Setenv(modelcache.EnvDir, t.TempDir())
	for _, c := range []struct {
		args   []string
		rc     int
		stderr string
	}{
		{[]string{"pull"}, 2, "mrun pull: want one model name, OWNER/REPO/FILE.gguf (see 'mrun help pull')\n"},
		{[]string{"pull", "m.gguf"}, 2, "mrun pull: model name \"m.gguf\": want OWNER/REPO/FILE.gguf (see 'mrun help pull')\n"},
		{[]string{"pull", "o/../m.gguf"}, 2, "mrun pull: model name \"o/../m.gguf\": \"..\" is not a valid name part (letters, digits, '.', '_', '-') (see 'mrun help pull')\n"},
		{[]string{"pull", "o/r/none.gguf", "--base-url", ts.URL}, 1, "mrun: pull: o/r/none.gguf: not found on the hub (" + ts.URL + "/o/r/resolve/main/none.gguf)\n"},
	} {
		rc, _, stderr := mrun(t, "", c.args...)
		assert.Equal(t, c.rc, rc, c.args)
		assert.Equal(t, c.stderr, stderr, c.args)
	}
	rc, _, stderr := mrun(t, "", "pull", "o/r/bad.gguf", "--base-url", ts.URL)
	assert.Equal(t, 1, rc)
	assert.Contains(t, stderr, "mrun: pull: download o/r/bad.gguf: checksum mismatch: the file's sha256 is ")
}
