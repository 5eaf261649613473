package cudart

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
)

// TestOpCasesLaunch checks that every op case (package opcases, which
// checks them on the CPU runtime and covers every contract) gets a CUDA
// launch, so the device tests (device_test.go) run every kernel.
func TestOpCasesLaunch(t *testing.T) {
	cases, _ := opcases.All()
	for _, c := range cases {
		_, err := Geometry(&c.Plan.Commands[0].Dispatches[0])
		require.NoError(t, err, c.Name)
	}
}
