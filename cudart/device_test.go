//go:build linux && cuda

package cudart

// Tests on a machine with an NVIDIA GPU, built with -tags cuda (CI has no
// GPU): go test -tags cuda ./cudart, or a binary carried to the GPU
// machine: CGO_ENABLED=0 go test -c -tags cuda ./cudart.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/internal/runtimecheck"
)

// TestDevice compiles every unit of kernels (the op cases use every
// contract), then again from the on-disk cache.
func TestDevice(t *testing.T) {
	require.True(t, Available(), "a GPU, its driver and NVRTC")
	t.Setenv("MRUN_CACHE", t.TempDir())
	cases, weights := opcases.All()
	for _, pass := range []string{"compiled", "from the cache"} {
		start := time.Now()
		rt, err := New(weights, Options{})
		require.NoError(t, err)
		for _, c := range cases {
			_, err := rt.Compile(c.Plan)
			require.NoError(t, err, c.Name)
		}
		t.Logf("%s: %d modules %s in %v", rt.Device(), len(rt.modules), pass, time.Since(start))
		require.NoError(t, rt.Close())
	}
}

// TestContractsAgainstCPU runs every contract's kernel on random inputs
// and compares each output with the CPU runtime's within the case's NMSE
// bound, with graphs and with plain launches.
func TestContractsAgainstCPU(t *testing.T) {
	cases, weights := opcases.All()
	casesAgainstCPU(t, cases, weights)
}

// casesAgainstCPU runs cases on the GPU, with graphs and with plain
// launches, and on the CPU runtime, and checks that they agree.
func casesAgainstCPU(t *testing.T, cases []opcases.Case, weights []byte) {
	cpu, err := cpurt.New(weights, cpurt.Options{})
	require.NoError(t, err)
	defer cpu.Close()
	for _, o := range []Options{{}, {NoGraphs: true}} {
		gpu, err := New(weights, o)
		require.NoError(t, err)
		runtimecheck.AgainstCPU(t, cpu, gpu.Compile, cases)
		require.NoError(t, gpu.Close())
	}
}

// TestPrefillAttentionAgainstCPU runs prefillAttnCases on the GPU
// against the CPU runtime, with graphs and without.
func TestPrefillAttentionAgainstCPU(t *testing.T) {
	cases, weights := prefillAttnCases()
	casesAgainstCPU(t, cases, weights)
}

// TestSplitDecodeAttentionAgainstCPU runs splitDecodeCases (attn_decode
// over grid z, then attn_decode_reduce) on the GPU against the CPU
// runtime, with graphs and without.
func TestSplitDecodeAttentionAgainstCPU(t *testing.T) {
	cases, weights := splitDecodeCases(t)
	casesAgainstCPU(t, cases, weights)
}

// TestF32MatmulAgainstCPU runs f32FloatCases on the GPU.
func TestF32MatmulAgainstCPU(t *testing.T) {
	cases, weights := f32FloatCases()
	casesAgainstCPU(t, cases, weights)
}

// cudaSubject is this runtime in the whole-model comparisons with the CPU
// runtime, with Metal's bounds but for BF16: it keeps 3 fewer mantissa
// bits than F16, so its bound is 8 times as wide as the worst F16
// difference measured on the H200 (0.018; BF16's was 0.061).
var cudaSubject = runtimecheck.Subject[*Runtime, *Program]{
	Name:       "CUDA",
	Open:       func(weights []byte) (*Runtime, error) { return New(weights, Options{}) },
	Tolerances: runtimecheck.Tolerances{F32: 1e-3, F16: 5e-2, BF16: 0.15, Quant: 0.5, KVF16: 2e-2},
}

// TestModelsAgainstCPU compares each golden file's model and prompt with
// the CPU runtime, prefill then greedy decoding (runtimecheck.CompareModel).
func TestModelsAgainstCPU(t *testing.T) {
	runtimecheck.EachGolden(t, func(t *testing.T, path string) {
		r := runtimecheck.CompareModel(t, cudaSubject, path)
		t.Logf("%s (kv %s): %d positions, %d greedy tokens agree, worst |Δlogit| %.3g, median %.3g (tolerance %g)",
			r.Model, r.KVType, r.Positions, r.Agreed, r.Worst, r.Median, r.Tolerance)
	})
}

// TestResetKV checks that a reset cache gives the first step's logits
// again, and that the cache is shared between programs of one runtime.
func TestResetKV(t *testing.T) {
	runtimecheck.CheckResetKV(t, cudaSubject)
}
