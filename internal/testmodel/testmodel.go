// Package testmodel gives tests models of real shapes without real
// weights: a Mistral-7B-shaped GGUF (Q4_0 with a Q6_K output, as real
// files) written sparse, so its 4 GB cost no disk and no time, and opened
// through the same code path as any model.
//
//	m := testmodel.Mistral7B(t)
//	g, err := mistral.Build(m.Config, m.Weights, 1)
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
