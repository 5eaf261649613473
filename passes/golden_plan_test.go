package passes

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/tools/graphviz"
)

// The memory plan and the schedule of the tiny model, as golden files:
// testdata/plan_memory/n=<N>.txt lists every value's location, and
// testdata/schedule/n=<N>.dot draws the plan (command buffers, dispatches,
// barriers). They change only when placement or scheduling changes.
func TestGoldenMemoryAndSchedule(t *testing.T) {
	for _, n := range []int{1, 5} {
		g := tiny{layers: 2}.graph(t, n)
		s := runPipeline(t, g, Target{Weights: layOut(g), WeightsSize: layOut(g).size})

		var mem bytes.Buffer
		fmt.Fprintf(&mem, "arena %d bytes\n", s.Memory.Arena)
		for _, kv := range s.Memory.KV {
			fmt.Fprintf(&mem, "kv %s @%d +%d\n", kv.Name, kv.Offset, kv.Length)
		}
		var lines []string
		for v, loc := range s.Memory.Loc {
			lines = append(lines, fmt.Sprintf("%-28s %-10s %-7s @%d +%d", v.Name, v.Kind, loc.Buffer, loc.Offset, v.Bytes()))
		}
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintln(&mem, l)
		}
		checkGolden(t, filepath.Join("plan_memory", fmt.Sprintf("n=%d.txt", n)), mem.Bytes())

		var dot bytes.Buffer
		require.NoError(t, graphviz.WritePlan(&dot, s.Plan))
		checkGolden(t, filepath.Join("schedule", fmt.Sprintf("n=%d.dot", n)), dot.Bytes())
	}
}
