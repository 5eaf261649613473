package runtimecheck

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/opcases"
)

// The CPU runtime compared with itself: the checks run every case and
// every position the GPU runtimes' tests do, on any machine, and find no
// difference.
var cpuSubject = Subject[*cpurt.Runtime, *cpurt.Program]{
	Name:       "CPU",
	Open:       func(weights []byte) (*cpurt.Runtime, error) { return cpurt.New(weights, cpurt.Options{}) },
	Tolerances: Tolerances{F32: 1e-3, F16: 5e-2, BF16: 0.15, Quant: 0.5, KVF16: 2e-2},
}

func TestAgainstCPUOnCPU(t *testing.T) {
	cases, weights := opcases.All()
	cpu, err := cpurt.New(weights, cpurt.Options{Threads: 2})
	require.NoError(t, err)
	defer cpu.Close()
	other, err := cpuSubject.Open(weights)
	require.NoError(t, err)
	defer other.Close()
	AgainstCPU(t, cpu, other.Compile, cases)
}

func TestCompareModelOnCPU(t *testing.T) {
	EachGolden(t, func(t *testing.T, path string) {
		r := CompareModel(t, cpuSubject, path)
		rec, err := golden.Read(path)
		require.NoError(t, err)
		require.Equal(t, 16, r.Agreed, "every greedy token")
		require.Equal(t, len(rec.PromptIDs)+16, r.Positions, "the prompt's positions and every greedy step's")
		require.Zero(t, r.Worst)
		tol := cpuSubject.Tolerances
		want, ok := map[string]float32{
			"llama-2-tiny-random.gguf": tol.F16, "stories260K.gguf": tol.F32, "derived/stories260K-ffn192-f32.gguf": tol.F32,
			"derived/synth-d256-gqa-f32.gguf": tol.F32, "derived/synth-d256-gqa-F16.gguf": tol.F16, "derived/synth-d256-gqa-BF16.gguf": tol.BF16,
		}[r.Model]
		if !ok {
			want = tol.Quant // the other golden models are quantised
		}
		if r.KVType == "f16" {
			want += tol.KVF16
		}
		require.Equal(t, want, r.Tolerance, "the bound of the coarsest weights")
	})
}

func TestCheckResetKVOnCPU(t *testing.T) {
	CheckResetKV(t, cpuSubject)
}
