package metalrt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/quant"
)

// An attention decode dispatch encodes as its kernel with the scratch
// buffer bound after the parameters, then the reduction behind a barrier;
// the list asks for the reduction's pipeline and a scratch buffer its size.
func TestEncodeAttnDecodeSplit(t *testing.T) {
	w := &opcases.Weights{}
	shape := opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 64, Capacity: 1000}
	c := opcases.Attn(w, "attn", "attn_decode", quant.F16, shape, 2, 500, 0)
	weights := w.Finish([]opcases.Case{c})
	cov, err := Cover(int64(len(weights)), page, 1<<30, Extents(c.Plan))
	require.NoError(t, err)

	want := `begin cb=0
pipeline attn_decode_f16_n2
buffer 0 step+0
buffer 1 weights[0]+0
buffer 2 weights[0]+4096
buffer 3 weights[0]+260096
buffer 4 logits+0
buffer 6 scratch+0
bytes 5 00000008 00000002 00000040 00000002 000003e8 00000000 3e000000
tgmem 0 4096
dispatch [8 2 1] x [128 1 1]
pipeline attn_decode_reduce
barrier
dispatch [8 2 1] x [32 1 1]
end
commit cb=0
`
	assert.Equal(t, want, record(t, c.Plan, cov), "8 chunks (1000 positions), 2 KV heads of 4 query heads, 2 tokens")

	l, err := NewCommandList(c.Plan, cov)
	require.NoError(t, err)
	assert.Equal(t, []string{"attn_decode_f16_n2", attnReduceKernel}, l.Pipelines())
	assert.Equal(t, 32, l.threads[attnReduceKernel])
	assert.Zero(t, l.memory[attnReduceKernel])
	assert.Equal(t, 2*8*8*(64+2)*4, l.ScratchBytes(), "per token, query head and chunk: (max, sum) and 64 outputs")
}
