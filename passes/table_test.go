package passes

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/quant"
)

// fields splits a table line into its cells (cells hold no double space).
func fields(line string) []string {
	var out []string
	for _, c := range strings.Split(line, "  ") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func TestWriteTable(t *testing.T) {
	m := stories(t)
	for _, n := range []int{1, 5} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			res, err := Run(storiesGraph(t, m, n), Target{Weights: m.Weights, WeightsSize: m.File.Size()},
				Options{Disable: []string{"fuse_qkv"}})
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, WriteTable(&b, res))
			lines := strings.Split(b.String(), "\n")

			assert.Equal(t, []string{"pass", "time", "nodes before", "nodes after"}, fields(lines[0]))
			for i, p := range Pipeline {
				row := fields(lines[1+i])
				require.Len(t, row, 4, lines[1+i])
				assert.Equal(t, p.Name, row[0])
				if p.Name == "fuse_qkv" {
					assert.Equal(t, "skipped", row[1])
					assert.Equal(t, row[2], row[3])
				} else {
					_, err := time.ParseDuration(row[1])
					assert.NoError(t, err, "time of %s", p.Name)
				}
			}
			// Without fuse_qkv the Q, K and V mat-vecs stay three nodes,
			// while gate/up, the residuals and rope_kv each fuse 5 layers.
			assert.Equal(t, []string{"fuse_gate_up", "83", "73"}, cut(fields(lines[3])))
			assert.Equal(t, "total", fields(lines[1+len(Pipeline)])[0])

			rest := strings.Join(lines[2+len(Pipeline):], "\n")
			assert.Contains(t, rest, fmt.Sprintf("\nplan llama/n=%d, N=%d\n", n, n))
			row := func(name string) []string {
				for _, l := range lines {
					if f := fields(l); len(f) > 0 && f[0] == name {
						return f[1:]
					}
				}
				t.Fatalf("no row %q in\n%s", name, b.String())
				return nil
			}
			// 83 nodes less 10 fused twice each, less 5 rope_kv fusions of
			// three nodes: 53 dispatches, as many as nodes.
			assert.Equal(t, []string{"53"}, row("dispatches"))
			assert.Equal(t, []string{"1.25 MiB", "1310720 B"}, row("KV cache"), "5 layers × K and V × 2048 × 32 × 2 B (F16, the default)")
			// Every weight F32: the blocks' 5 × (64+64+64·64·2+64·32·2+64·172·3) floats,
			// the output norm and matrix, and n rows of the embedding table.
			ideal := int64(4 * (5*(64+64+64*64*2+64*32*2+64*172*3) + 64 + 512*64 + n*64))
			assert.Equal(t, []string{size(ideal), fmt.Sprintf("%d B", ideal)}, row("weights read per step"))
			assert.Equal(t, []string{size(ideal), fmt.Sprintf("%d B", ideal)}, row("ideal: each weight once"))
			assert.Contains(t, rest, "\nweights read: 1.000× the ideal\n")
			if n == 1 {
				assert.NotContains(t, rest, "per token")
			} else {
				per := ideal / int64(n)
				assert.Equal(t, []string{size(per), fmt.Sprintf("%d B", per)}, row("weights read per token"))
				act := res.Plan.Stats().ActivationBytes / int64(n)
				assert.Equal(t, fmt.Sprintf("%d B", act), row("activations per token")[1])
			}
		})
	}
}

func cut(row []string) []string {
	return []string{row[0], row[2], row[3]}
}

func TestWriteTableMatVecRereads(t *testing.T) {
	// At N=2 the mat-vec kernel reads each matrix once per token; the
	// table says how far that is from the ideal.
	g := tiny{layers: 1}.graph(t, 2)
	c := layOut(g)
	s := &State{Graph: g, Target: Target{Weights: c, WeightsSize: c.size}}
	for _, p := range []Pass{DCE, SelectVariants, PlanMemory, Schedule} {
		if p.Name == "plan_memory" {
			for _, n := range s.Graph.Nodes {
				if mm, ok := n.Op.(ops.MatMulOp); ok {
					mm.Variant = ops.MatVec
					n.Op = mm
				}
			}
		}
		require.NoError(t, runOne(p, s), p.Name)
	}
	st := s.Plan.Stats()
	ideal := IdealWeightBytes(s.Graph)
	require.Greater(t, st.WeightBytesRead, ideal)
	var b strings.Builder
	require.NoError(t, WriteTable(&b, &Result{Graph: s.Graph, Plan: s.Plan}))
	assert.Contains(t, b.String(), fmt.Sprintf("\nweights read: %.3f× the ideal\n", float64(st.WeightBytesRead)/float64(ideal)))
	var perToken []string
	for _, l := range strings.Split(b.String(), "\n") {
		if f := fields(l); len(f) == 3 && f[0] == "weights read per token" {
			perToken = f[1:]
		}
	}
	assert.Equal(t, []string{size(st.WeightBytesRead / 2), fmt.Sprintf("%d B", st.WeightBytesRead/2)}, perToken)
}

func TestWriteTableWithoutPlan(t *testing.T) {
	var b strings.Builder
	require.NoError(t, WriteTable(&b, &Result{Stats: []Stat{{Pass: "dce", Time: 1500 * time.Microsecond, NodesBefore: 9, NodesAfter: 7}}}))
	assert.Equal(t, "pass    time  nodes before  nodes after\n"+
		"dce    1.5ms             9            7\n"+
		"total  1.5ms\n"+
		"\nno plan: the schedule pass did not run\n", b.String())
}

func TestIdealWeightBytes(t *testing.T) {
	// An embedding table that only embed reads costs the step's rows; one
	// that the output mat-vec also reads (tied embeddings) costs it whole.
	for _, tied := range []bool{false, true} {
		g := graph.New("tied", 3)
		b := ops.NewBuilder(g)
		table := g.Weight("token_embd.weight", quant.Q8_0, 100, 64) // 2 blocks of 34 B a row
		x := b.Embed("embed", table, g.Input("tokens", quant.I32, 3))
		x = b.RMSNorm("norm", x, g.Weight("norm.weight", quant.F32, 64), 1e-5)
		out := g.Weight("output.weight", quant.F16, 100, 64)
		if tied {
			out = table
		}
		g.Outputs = []*graph.Value{b.MatMul("output", out, x)}
		g.Weight("unused.weight", quant.F32, 1000, 64)
		require.NoError(t, b.Err())
		want := int64(3*68 + 64*4 + 100*64*2)
		if tied {
			want = 100*68 + 64*4
		}
		assert.Equal(t, want, IdealWeightBytes(g), "tied=%v", tied)
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB", 5 << 20: "5.00 MiB",
		3<<30 + 1<<29: "3.50 GiB", 1 << 50: "1024.00 TiB",
	} {
		assert.Equal(t, want, size(n), "%d", n)
	}
}

func TestOptionsCheck(t *testing.T) {
	assert.Equal(t, []string{"dce", "fuse_qkv", "fuse_gate_up", "fuse_residual", "fuse_rope_kv",
		"select_variants", "plan_memory", "schedule"}, Names())
	for _, o := range []Options{{}, {DumpAfter: "all"}, {Disable: []string{"fuse_qkv", "dce"}, DumpAfter: "fuse_gate_up"}} {
		assert.NoError(t, o.Check(), "%+v", o)
	}
	all := "dce, fuse_qkv, fuse_gate_up, fuse_residual, fuse_rope_kv, select_variants, plan_memory, schedule"
	for _, c := range []struct {
		o   Options
		msg string
	}{
		{Options{Disable: []string{"fuse_qkv", "fuse"}}, `no pass named "fuse" (passes: ` + all + ")"},
		{Options{Disable: []string{"schedule"}}, "pass schedule cannot be disabled: the pipeline's result is the plan"},
		{Options{DumpAfter: "qkv"}, `no pass named "qkv" (passes: ` + all + ", or all)"},
		{Options{DumpAfter: "dce", Disable: []string{"dce"}}, "pass dce is disabled, so there is no graph after it"},
	} {
		err := c.o.Check()
		require.Error(t, err, "%+v", c.o)
		assert.Equal(t, c.msg, err.Error())
		if len(c.o.Disable) > 0 && c.o.DumpAfter == "" {
			_, runErr := Run(tiny{layers: 1}.graph(t, 1), Target{}, c.o)
			assert.EqualError(t, runErr, c.msg, "Run refuses what Check refuses")
		}
	}
}
