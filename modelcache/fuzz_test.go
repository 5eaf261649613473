package modelcache

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseRef: a model name comes from the command line or an API
// client; any name is refused or names a file inside the cache folder.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"ggml-org/models/tinyllamas/stories260K.gguf", "a/b/c.gguf", "../x/y.gguf", "a/../b/c.gguf",
		"a/b/.gguf", "a//b/c.gguf", "/a/b/c.gguf", "a/b/c.gguf/", "a/b/\x00.gguf", "a/b/c..gguf",
	} {
		f.Add(s)
	}
	c := Cache{Dir: "/cache"}
	f.Fuzz(func(t *testing.T, name string) {
		r, err := ParseRef(name)
		if err != nil {
			return
		}
		rel, err := filepath.Rel(c.Dir, c.Path(r))
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
			t.Fatalf("%q resolves outside the cache: %s", name, c.Path(r))
		}
	})
}
