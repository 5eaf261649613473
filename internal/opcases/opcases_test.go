package opcases

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/plan"
)

// TestCasesRunOnCPU checks the cases themselves: each plan verifies, runs
// on the CPU runtime and writes every output, with finite values, and
// every contract has a case, so a runtime tested with them is tested on
// every kernel.
func TestCasesRunOnCPU(t *testing.T) {
	cases, weights := All()
	covered := map[string]bool{}
	rt, err := cpurt.New(weights, cpurt.Options{Threads: 2})
	require.NoError(t, err)
	defer rt.Close()
	for _, c := range cases {
		covered[c.Plan.Commands[0].Dispatches[0].Kernel] = true
		require.NoError(t, plan.Verify(c.Plan), c.Name)
		prog, err := rt.Compile(c.Plan)
		require.NoError(t, err, c.Name)
		logits, err := prog.Run(c.Tokens, c.Pos0)
		require.NoError(t, err, c.Name)
		for _, s := range c.Out {
			vals := s.Values(logits)
			nonzero := 0
			for _, v := range vals {
				require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s %s", c.Name, s.Name)
				if v != 0 {
					nonzero++
				}
			}
			// Caches hold the step's rows only; every other output is dense.
			need := s.Count / 2
			if strings.HasSuffix(s.Name, "_cache") {
				need = 1
			}
			require.GreaterOrEqual(t, nonzero, need, "%s %s: the output was written", c.Name, s.Name)
		}
	}
	for _, c := range plan.Contracts() {
		require.True(t, covered[c.Name], "no case for contract %s", c.Name)
	}
}

func TestNMSE(t *testing.T) {
	require.InDelta(t, 0.25/5, NMSE([]float64{1.5, 2}, []float64{1, 2}), 1e-15)
	require.Equal(t, 0.0, NMSE([]float64{3, -4}, []float64{3, -4}))
	require.Equal(t, 2.0, NMSE([]float64{1, 1}, []float64{0, 0}), "a zero reference gives the squared error")
	require.True(t, math.IsNaN(NMSE([]float64{math.NaN()}, []float64{1})))
}
