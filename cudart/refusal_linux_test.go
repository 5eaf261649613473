//go:build linux

package cudart

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusalWithoutDriver: a machine without the NVIDIA driver gets one
// line naming the missing library.
func TestRefusalWithoutDriver(t *testing.T) {
	_, err := openDevice([]string{"libcuda-absent.so.1"}, []string{"libnvrtc.so"})
	require.Error(t, err)
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "cuda backend: the NVIDIA driver library (libcuda-absent.so.1) is not installed or cannot be loaded"), msg)
	require.NotContains(t, msg, "\n")
}

// TestRefusalWithoutNVRTC: NVRTC missing everywhere it was looked for is
// one line too.
func TestRefusalWithoutNVRTC(t *testing.T) {
	_, err := loadNVRTC([]string{"libnvrtc-absent.so.13", "/nowhere/libnvrtc.so"})
	require.Error(t, err)
	require.True(t, strings.HasPrefix(err.Error(), "NVRTC (libnvrtc.so, the CUDA runtime compiler) was not found"), err.Error())
	require.NotContains(t, err.Error(), "\n")
	_, err = loadNVRTC(nil)
	require.ErrorContains(t, err, "no candidate found")
}

// TestNewOnThisMachine: New either works (a GPU machine) or refuses with
// one line saying why; Available agrees with it.
func TestNewOnThisMachine(t *testing.T) {
	_, derr := openDefault()
	require.Equal(t, derr == nil, Available())
	if derr != nil {
		_, err := New(make([]byte, 64), Options{})
		require.Equal(t, derr, err)
		require.True(t, strings.HasPrefix(err.Error(), "cuda backend: "), err.Error())
		require.NotContains(t, err.Error(), "\n")
		return
	}
	_, err := New(nil, Options{})
	require.EqualError(t, err, "cudart: empty weights buffer")
}
