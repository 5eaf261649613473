package main

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
)

func TestRunStopsOnNonFiniteLogits(t *testing.T) {
	// A NaN in token 100's output row: its logit is NaN at every position.
	model := testmodel.Rewrite(t, shareddata.Path(t, "models", "stories260K.gguf"), func(m *testmodel.Model) {
		m.SetF32(t, "output.weight", 100*64, float32(math.NaN()))
	})
	rc, out, errOut := mrun(t, "", "run", "-m", model, "-p", "Once upon a time", "-n", "8", "--temp", "0")
	assert.Equal(t, 1, rc)
	assert.Empty(t, out)
	last := errOut[strings.LastIndex(strings.TrimSuffix(errOut, "\n"), "\n")+1:]
	require.Equal(t, "mrun: run: engine: logits at position 4 are not finite (NaN); the model's weights may be corrupt (try --check-tensors)\n", last)
}
