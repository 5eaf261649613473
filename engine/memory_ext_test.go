package engine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
)

// TestContextTooLargeForMemory: stories260K claiming a 16M-token context
// would need a 10 GiB (F16) KV cache, which a session limited to 4 GiB refuses
// before allocating it, naming a context that fits.
func TestContextTooLargeForMemory(t *testing.T) {
	path := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetKV("llama.context_length", gguf.Uint32Value(1<<24))
	})
	f := openFile(t, path)
	s := f.session(t, engine.Options{Context: 1 << 24, MemoryLimit: 4 << 30})
	const want = "the KV cache and activations for --ctx 16777216 need 10.0 GiB but 4.0 GiB is available; try --ctx 4194304"
	require.EqualError(t, s.CheckFits(1), want, "checked without compiling")
	require.EqualError(t, s.Warm(1), want)
	_, err := engine.Generate(s, f.tok, "Once upon a time", engine.GenerateOptions{MaxTokens: 4})
	require.EqualError(t, err, want)
	require.Equal(t, 0, s.Pos(), "nothing was run")

	// The model's own default context fits easily.
	fits := f.session(t, engine.Options{MemoryLimit: 4 << 30})
	require.NoError(t, fits.CheckFits(1))
	require.NoError(t, fits.Warm(1, 64))
}
