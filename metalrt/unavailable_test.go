//go:build !darwin

package metalrt

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnavailableOutsideMacOS(t *testing.T) {
	assert.False(t, Available())
	_, err := New([]byte{1}, Options{})
	require.Error(t, err)
	assert.Equal(t, "metal backend: Metal needs macOS on Apple Silicon (this is "+runtime.GOOS+"/"+runtime.GOARCH+")", err.Error())
	var r *Runtime
	_, err = r.Compile(nil)
	assert.ErrorContains(t, err, "Metal needs macOS")
	_, err = (*Program)(nil).Run([]int32{1}, 0)
	assert.ErrorContains(t, err, "Metal needs macOS")
}
