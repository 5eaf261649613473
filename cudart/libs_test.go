package cudart

import (
	"path"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNVRTCCandidates: the loader's names first, then CUDA_HOME, the
// /usr/local/cuda installs (newest first), then pip's packages.
func TestNVRTCCandidates(t *testing.T) {
	files := []string{
		"/opt/cuda/lib64/libnvrtc.so.12",
		"/usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.13",
		"/usr/local/cuda-12.4/lib64/libnvrtc.so.12",
		"/usr/local/cuda-13.0/lib64/libnvrtc.so.13",
		"/usr/local/cuda-13.0/lib64/libnvrtc-builtins.so.13.0",
		"/usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libnvrtc.so.13",
		"/home/u/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
	}
	dirs := []string{"/usr/local/cuda-12.4", "/usr/local/cuda-13.0", "/usr/local/lib/python3.12/dist-packages",
		"/home/u/.local/lib/python3.11/site-packages"}
	glob := func(pattern string) []string {
		var out []string
		for _, f := range append(files, dirs...) {
			if ok, _ := path.Match(pattern, f); ok {
				out = append(out, f)
			}
		}
		return out
	}
	env := map[string]string{"CUDA_HOME": "/opt/cuda", "HOME": "/home/u"}
	got := nvrtcCandidates(func(k string) string { return env[k] }, glob)
	require.Equal(t, []string{
		"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
		"/opt/cuda/lib64/libnvrtc.so.12",
		"/usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so.13",
		"/usr/local/cuda-13.0/lib64/libnvrtc.so.13",
		"/usr/local/cuda-12.4/lib64/libnvrtc.so.12",
		"/usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libnvrtc.so.13",
		"/home/u/.local/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
	}, got)
}
