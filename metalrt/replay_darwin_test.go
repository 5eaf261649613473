//go:build darwin

package metalrt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
)

// TestRunDoesNotAllocate decodes with stories260K's N = 1 program: the C
// replay reads the flat list in place, so a step makes no Go allocation
// (the darwinkit encoder it replaced made ~20,000 on a 7B model).
func TestRunDoesNotAllocate(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	rt, err := New(m.File.Bytes(), Options{})
	require.NoError(t, err)
	defer rt.Close()
	prog, err := rt.Compile(modelPlan(t, m, 1))
	require.NoError(t, err)
	tokens, pos := []int32{1}, 0
	step := func() {
		logits, err := prog.Run(tokens, pos)
		if err != nil || len(logits) == 0 {
			t.Fatalf("step at %d: %v", pos, err)
		}
		pos++
	}
	step()
	assert.Zero(t, testing.AllocsPerRun(50, step))
	require.Equal(t, 52, pos, "every step ran")
}
