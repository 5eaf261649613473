package testmodel

import (
	"path/filepath"
	"testing"

	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/models/synth"
)

// Mistral7B opens a sparse Mistral-7B Q4_0 model in a temporary
// directory; it is closed and removed when the test ends.
func Mistral7B(t testing.TB) *mistral.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mistral-7b-q4_0-sparse.gguf")
	if err := synth.WriteSparse(path, synth.Options{Shape: "mistral-7b", Type: "q4_0"}); err != nil {
		t.Fatal(err)
	}
	m, err := mistral.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}
