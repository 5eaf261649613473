//go:build darwin

package metalrt

import (
	"testing"

	"github.com/metalgraph/metalgraph/internal/runtimecheck"
)

// metalSubject is this runtime in the whole-model comparisons with the CPU
// runtime. Its bounds are first estimates, to be tightened from
// measurements on a Mac; BF16 weights have F16's bound, as before CUDA
// measured them.
var metalSubject = runtimecheck.Subject[*Runtime, *Program]{
	Name: "Metal",
	Open: func(weights []byte) (*Runtime, error) { return New(weights, Options{}) },
	Tolerances: runtimecheck.Tolerances{
		F32:   1e-3, // summation order only
		F16:   5e-2, // activations rounded to 11 bits on the CPU
		BF16:  5e-2,
		Quant: 0.5,  // Q8 activation steps on the CPU
		KVF16: 2e-2, // F16 cache rounding flips, carried by the cache
	},
}

// TestModelsAgainstCPU compares each golden file's model and prompt with
// the CPU runtime, prefill then greedy decoding (runtimecheck.CompareModel).
func TestModelsAgainstCPU(t *testing.T) {
	runtimecheck.EachGolden(t, func(t *testing.T, path string) {
		r := runtimecheck.CompareModel(t, metalSubject, path)
		t.Logf("%s (kv %s): %d positions, worst |Δlogit| %.3g, median %.3g (tolerance %g)",
			r.Model, r.KVType, r.Positions, r.Worst, r.Median, r.Tolerance)
	})
}

// TestResetKV checks that a reset cache gives the first step's logits
// again, and that the cache is shared between programs of one runtime.
func TestResetKV(t *testing.T) {
	runtimecheck.CheckResetKV(t, metalSubject)
}
