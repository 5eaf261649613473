package metalrt

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
)

// TestOpCasesEncode checks that every op case (package opcases, which
// checks them on the CPU runtime) encodes for Metal: geometry, covering
// and command list; the darwin tests then run them on the GPU.
func TestOpCasesEncode(t *testing.T) {
	cases, weights := opcases.All()
	for _, c := range cases {
		cov, err := Cover(int64(len(weights)), page, 1<<20, Extents(c.Plan))
		require.NoError(t, err, c.Name)
		_, err = NewCommandList(c.Plan, cov)
		require.NoError(t, err, c.Name)
	}
}
