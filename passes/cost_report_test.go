package passes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/models/mistral"
)

// WriteCost on stories260K (5 layers, K and V rows of 32 F32) with a cache
// of 64 positions: per token, the whole cache is read once and one row of
// each written; a prefill step shares its bytes out over its tokens.
// The command buffers' rows and the "all" row count what the plan holds.
func TestWriteCost(t *testing.T) {
	m := stories(t)
	cfg := m.Config
	cfg.Context = 64
	for _, n := range []int{1, 4} {
		g, err := mistral.Build(cfg, m.Weights, n)
		require.NoError(t, err)
		res, err := Run(g, Target{Weights: m.Weights, WeightsSize: m.File.Size()}, Options{})
		require.NoError(t, err)
		var b strings.Builder
		require.NoError(t, WriteCost(&b, res.Plan, 64))
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		assert.Equal(t, fmt.Sprintf("plan %s, N=%d, KV cache at 64 positions: bytes moved per token", res.Plan.Name, n), lines[0])
		rows := map[string][]string{}
		for _, l := range lines[1:] {
			f := fields(l)
			rows[f[0]] = f[1:]
		}
		st := res.Plan.Stats()
		e := int64(cfg.KVType.BlockBytes()) // F16 by default: 2 bytes an element
		kvRead, kvWritten := 5*2*64*32*e/int64(n), 5*2*32*e
		assert.Equal(t, []string{size(kvRead), fmt.Sprint(kvRead, " B")}, rows["KV cache read"], "n=%d", n)
		assert.Equal(t, []string{size(kvWritten), fmt.Sprint(kvWritten, " B")}, rows["KV cache written"], "n=%d", n)
		assert.Equal(t, fmt.Sprint(st.WeightBytesRead/int64(n), " B"), rows["weights"][1], "n=%d", n)
		assert.Equal(t, fmt.Sprint(st.ActivationBytes/int64(n), " B"), rows["activations"][1], "n=%d", n)
		assert.Equal(t, []string{"dispatches", "barriers"}, rows["command buffer"])
		for i, cb := range res.Plan.Commands {
			barriers := 0
			for _, d := range cb.Dispatches {
				if d.Barrier {
					barriers++
				}
			}
			assert.Equal(t, []string{fmt.Sprint(len(cb.Dispatches)), fmt.Sprint(barriers)}, rows[fmt.Sprint(i)], "n=%d command buffer %d", n, i)
		}
		assert.Equal(t, []string{fmt.Sprint(st.Dispatches), fmt.Sprint(st.Barriers)}, rows["all"], "n=%d", n)
		total := (st.WeightBytesRead + 5*2*64*32*e + int64(n)*kvWritten + st.ActivationBytes) / int64(n)
		assert.Equal(t, fmt.Sprint(total, " B"), rows["total"][1], "n=%d", n)
		err = WriteCost(&strings.Builder{}, res.Plan, 65)
		require.ErrorContains(t, err, "context 65 exceeds the 64 positions of the cache")
	}
}
