package gguf

import (
	"os"
	"testing"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// BenchmarkParse parses a header with the 32000-token Llama vocabulary.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(shareddata.Path(b, "models", "llama-2-tiny-random.gguf"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
