package mistral

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProductRefusesWhatWrapsAround(t *testing.T) {
	// In int64, 8 heads of 2^62+8 dims make 64: a plausible width.
	heads, headDim := 8, 1<<62+8
	require.Equal(t, 64, heads*headDim)
	_, ok := product(maxBytes, heads, headDim)
	require.False(t, ok)
	_, ok = product(maxBytes, 2, 1<<24, 1<<24, 1<<12, 1<<12, 4) // 2^75 wraps uint64 too
	require.False(t, ok)
	_, ok = product(maxBytes, 1<<25, 1<<25)
	require.True(t, ok, "exactly the limit passes")
	_, ok = product(maxBytes-1, 1<<25, 1<<25)
	require.False(t, ok)
	_, ok = product(maxBytes, -1, 1)
	require.False(t, ok)
	p, ok := product(maxSize, 32, 128)
	require.True(t, ok)
	require.Equal(t, 4096, p)
}
