package main

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
)

// --check-tensors refuses a model with a NaN weight, naming the tensor and
// the element, in run and bench; without it the file is not scanned.
func TestCheckTensorsRefusesNaNWeights(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	poisoned := testmodel.Rewrite(t, model, func(m *testmodel.Model) {
		tn := m.Tensor("blk.2.attn_v.weight")
		tn.Data = append([]byte(nil), tn.Data...) // the original is read-only mapped memory
		binary.LittleEndian.PutUint32(tn.Data[4*33:], math.Float32bits(float32(math.NaN())))
	})
	const want = ": tensor blk.2.attn_v.weight: element 33 is NaN\n"
	run := []string{"run", "-p", "Once upon a time", "-n", "4", "--temp", "0", "--threads", "1"}
	bench := []string{"bench", "-p", "4", "-n", "2", "--reps", "1", "--threads", "1"}
	for _, args := range [][]string{run, bench} {
		rc, out, errOut := mrun(t, "", append(args, "-m", poisoned, "--check-tensors")...)
		assert.Equal(t, 1, rc, args[0])
		assert.Empty(t, out, args[0])
		requireOneLine(t, errOut)
		assert.Equal(t, "mrun: "+args[0]+": "+poisoned+want, errOut)

		rc, _, errOut = mrun(t, "", append(args, "-m", model, "--check-tensors")...)
		assert.Equal(t, 0, rc, "%s on a clean model: %s", args[0], errOut)
	}
	// Without the flag nothing is scanned at load: the NaN surfaces only
	// as non-finite logits, which stop generation and point to the flag.
	rc, _, errOut := mrun(t, "", append(run, "-m", poisoned)...)
	assert.Equal(t, 1, rc, errOut)
	assert.Contains(t, errOut, "are not finite (NaN)")
	assert.Contains(t, errOut, "try --check-tensors")
	assert.NotContains(t, errOut, "blk.2.attn_v.weight")

	rc, out, _ := mrun(t, "", "help", "run")
	assert.Equal(t, 0, rc)
	assert.Contains(t, out, "-check-tensors")
}
