package mistral_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// referenceTolerance bounds |reference − llama.cpp| per logit for the F32
// stories260K model. Both compute in float32 from the same F32 weights;
// they differ only in summation order (the reference sums in float64,
// ggml in float32 with SIMD partial sums) and in exp/sincos
// implementations; measured worst case is ~1e-5 on logits of magnitude
// ~20. 1e-4 leaves tenfold headroom and is still five times tighter than
// the F16-cache rounding effect the README cites (5e-4), while any real
// bug (a wrong rope pairing, an off-by-one mask) moves logits by units.
const referenceTolerance = 1e-4

func TestReferenceEvaluatorMatchesLlamaCpp(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	m.Config.KVType = quant.F32 // the golden's cache; the default is F16
	want, err := golden.Read(shareddata.Path(t, "models", "golden", "stories260K.once.kvf32.txt"))
	require.NoError(t, err)

	g, err := mistral.Build(m.Config, m.Weights, 1)
	require.NoError(t, err)
	ev := ops.NewEvaluator(m.Weights)
	tokens := append([]int32(nil), want.PromptIDs...)
	var generated []int32
	var worst float32
	for pos := 0; pos < len(want.PromptIDs)+len(want.GreedyIDs)-1; pos++ {
		out, err := ev.Run(g, tokens[pos:pos+1], pos)
		require.NoError(t, err)
		logits := out[0].F
		if ref, ok := want.Logits[pos]; ok {
			d := golden.MaxAbsDiff(logits, ref)
			worst = max(worst, d)
			require.LessOrEqualf(t, d, float32(referenceTolerance), "position %d: max |Δlogit| %g", pos, d)
		}
		if pos >= len(want.PromptIDs)-1 {
			next := int32(golden.Argmax(logits))
			generated = append(generated, next)
			tokens = append(tokens, next)
		}
	}
	t.Logf("worst |Δlogit| over %d positions: %.3g (tolerance %g)", len(want.Logits), worst, referenceTolerance)
	require.Equal(t, want.GreedyIDs[:len(generated)], generated)
}
