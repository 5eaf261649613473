package runtimes

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cudart"
)

func TestOpenByName(t *testing.T) {
	weights := make([]byte, 4096)
	cpu, err := Open("cpu", weights, Options{Threads: 1})
	require.NoError(t, err)
	require.Equal(t, "cpu", cpu.Name())
	require.NoError(t, cpu.Close())

	_, err = Open("tpu", weights, Options{})
	require.EqualError(t, err, `unknown backend "tpu" (choose auto, cpu, metal, cuda)`)

	if runtime.GOOS != "darwin" && !cudart.Available() {
		_, err = Open("metal", weights, Options{})
		require.ErrorContains(t, err, "Metal needs macOS on Apple Silicon")
		_, err = Open("cuda", weights, Options{})
		require.ErrorContains(t, err, "cuda backend: ")
		auto, err := Open("auto", weights, Options{Threads: 1})
		require.NoError(t, err)
		require.Equal(t, "cpu", auto.Name(), "auto falls back to the CPU where Metal and CUDA are absent")
		require.NoError(t, auto.Close())
	}
}
