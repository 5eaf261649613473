package runtimecheck

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/plan"
)

// Program is what every runtime's compiled plan does.
type Program interface {
	Run(tokens []int32, pos0 int) ([]float32, error)
}

// runCopy runs one step and keeps its logits, which the program's next
// step would overwrite.
func runCopy(t *testing.T, p Program, tokens []int32, pos0 int) []float32 {
	t.Helper()
	out, err := p.Run(tokens, pos0)
	require.NoError(t, err)
	return append([]float32(nil), out...)
}

// AgainstCPU runs every case on the CPU runtime and through compile (a
// runtime's Compile), one subtest per case, and checks that the outputs
// agree (AssertAgrees). cpu must be over the cases' weights.
func AgainstCPU[P Program](t *testing.T, cpu *cpurt.Runtime, compile func(*plan.Plan) (P, error), cases []opcases.Case) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			cp, err := cpu.Compile(c.Plan)
			require.NoError(t, err)
			gp, err := compile(c.Plan)
			require.NoError(t, err)
			want := runCopy(t, cp, c.Tokens, c.Pos0)
			got := runCopy(t, gp, c.Tokens, c.Pos0)
			AssertAgrees(t, c, got, want)
		})
	}
}

// AssertAgrees checks each output of case c in got against want, the CPU
// runtime's logits: no NaN, and an NMSE within the case's bound.
func AssertAgrees(t *testing.T, c opcases.Case, got, want []float32) {
	t.Helper()
	for _, s := range c.Out {
		e := opcases.NMSE(s.Values(got), s.Values(want))
		require.False(t, math.IsNaN(e), "%s: NaN in the output", s.Name)
		assert.LessOrEqualf(t, e, c.NMSE, "%s: NMSE %.3g against the CPU runtime (bound %g)", s.Name, e, c.NMSE)
	}
}
