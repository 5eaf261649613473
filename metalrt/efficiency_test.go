package metalrt

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// emuLoads is what the load-counting emulator reports of a dispatch
// (mslemu/loads.h defines each figure).
type emuLoads struct{ asked, sectorBytes, loaded, distinct int64 }

// sectorEfficiency is the bytes the lanes asked for over the bytes of the
// 32-byte sectors their simdgroup-wide loads touched.
func (l emuLoads) sectorEfficiency() float64 { return float64(l.asked) / float64(l.sectorBytes) }

// reuse is the bytes loaded over the distinct bytes loaded.
func (l emuLoads) reuse() float64 { return float64(l.loaded) / float64(l.distinct) }

var reLoads = regexp.MustCompile(`^mslemu loads: asked=(\d+) sector_bytes=(\d+) loaded=(\d+) distinct=(\d+)\n$`)

// emuRunLoads runs d on a load-counting emulator (buildEmulator with
// countLoads) and returns its writable buffers and its loads.
func emuRunLoads(ctx context.Context, bin string, d emuDispatch) ([]byte, emuLoads, error) {
	stdout, err := emuExec(ctx, bin, d, "")
	if err != nil {
		return nil, emuLoads{}, err
	}
	n := d.writableBytes()
	if len(stdout) < n {
		return nil, emuLoads{}, fmt.Errorf("the emulator returned %d bytes, want %d and its loads", len(stdout), n)
	}
	m := reLoads.FindSubmatch(stdout[n:])
	if m == nil {
		return nil, emuLoads{}, fmt.Errorf("the emulator reported no loads after its %d output bytes: %q", n, stdout[n:])
	}
	var v [4]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
	}
	l := emuLoads{v[0], v[1], v[2], v[3]}
	if l.sectorBytes == 0 || l.distinct == 0 {
		return nil, emuLoads{}, fmt.Errorf("the dispatch loaded nothing from device memory: %+v", l)
	}
	return stdout[:n], l, nil
}

// TestLoadAccounting runs the kernels of mslemu/testdata/loads.metal,
// whose loads are known, on the load-counting emulator.
func TestLoadAccounting(t *testing.T) {
	gxx := emuCompiler(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := os.ReadFile("mslemu/testdata/loads.metal")
	require.NoError(t, err)
	bin, _, err := buildEmulator(ctx, gxx, t.TempDir(), []KernelFile{{Name: "loads.metal", Source: string(src)}}, true)
	require.NoError(t, err)

	in := func(index, floats int) emuBuffer { return emuBuffer{index: index, bytes: make([]byte, 4*floats)} }
	out := func(index int) emuBuffer { return emuBuffer{index: index, writable: true, bytes: make([]byte, 4*64)} }
	for _, c := range []struct {
		kernel string
		bufs   []emuBuffer
		want   emuLoads
	}{
		{"contiguous", []emuBuffer{in(0, 64), out(1)}, emuLoads{asked: 256, sectorBytes: 256, loaded: 256, distinct: 256}},
		{"strided", []emuBuffer{in(0, 8*64), out(1)}, emuLoads{asked: 256, sectorBytes: 2048, loaded: 256, distinct: 256}},
		// Each lane's 64 loads merge into 16 of 16 bytes; a simdgroup's k-th
		// asks for 16 bytes of one sector.
		{"everyone", []emuBuffer{in(0, 64), in(1, 64), out(2)}, emuLoads{asked: 2 * 16 * 16, sectorBytes: 2 * 16 * 32, loaded: 64 * 256, distinct: 256}},
	} {
		d := emuDispatch{kernel: c.kernel, groups: [3]int{1, 1, 1}, threads: [3]int{64, 1, 1}, buffers: c.bufs}
		_, got, err := emuRunLoads(ctx, bin, d)
		require.NoError(t, err, c.kernel)
		assert.Equal(t, c.want, got, c.kernel)
	}
}

// efficiencyCases are the hot decode kernels at Mistral-7B's shapes: the
// mat-vecs at its row lengths (4096 and 14336 columns) over 512 rows (7
// threadgroups of 80 rows for 4-bit weights, the last partial: its rows
// past the end are not loaded), the multi-token mat-vec at N = 2, 4, 8, and attention
// decode at a 4096-token context with GQA 4:1 (8 query heads over 2 KV
// heads of 128), for one token and verification steps of 5 and 8, and attention prefill of 5 and 64 tokens ending there
// (F16 cache, the default).
func efficiencyCases() ([]opcases.Case, []byte) {
	w := &opcases.Weights{}
	var cases []opcases.Case
	mat := func(fam string, t quant.Type, cols, n int) {
		name := fmt.Sprintf("%s/rows=512/cols=%d/n=%d", plan.Name(fam, t), cols, n)
		cases = append(cases, opcases.Mat(w, name, fam, t, 512, cols, n))
	}
	for _, t := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q6_K, quant.Q4_K, quant.Q5_K, quant.F16} {
		for _, cols := range []int{4096, 14336} {
			mat("matvec", t, cols, 1)
		}
	}
	mat("matvec@qkv", quant.Q4_0, 4096, 1)
	mat("matvec@gate_up", quant.Q4_0, 4096, 1)
	mat("matvec@acc", quant.Q4_0, 14336, 1)
	for _, n := range []int{2, 4, 8} {
		mat("mtmatvec", quant.Q4_0, 4096, n)
	}
	for _, ct := range plan.CacheTypes {
		const ctx = 4096
		name := fmt.Sprintf("%s/ctx=%d/heads=8/2/head_dim=128", plan.Name("attn_decode", ct), ctx)
		cases = append(cases, opcases.Attn(w, name, "attn_decode", ct, opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: ctx}, 1, ctx-1, 0))
	}
	for _, n := range []int{5, 8} { // verification steps ending at the context's last row
		const ctx = 4096
		name := fmt.Sprintf("%s/ctx=%d/heads=8/2/head_dim=128/n=%d", plan.Name("attn_decode", quant.F16), ctx, n)
		cases = append(cases, opcases.Attn(w, name, "attn_decode", quant.F16, opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: ctx}, n, ctx-n, 0))
	}
	for _, n := range []int{5, 64} {
		const ctx = 4096
		name := fmt.Sprintf("%s/ctx=%d/heads=8/2/head_dim=128/n=%d", plan.Name("attn_prefill", quant.F16), ctx, n)
		cases = append(cases, opcases.Attn(w, name, "attn_prefill", quant.F16, opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: ctx}, n, ctx-n, 0))
	}
	return cases, w.Finish(cases)
}

// TestKernelEfficiency measures the device-memory loads of the hot decode
// kernels on the load-counting emulator and prints, per case,
//
//	efficiency NAME sector_efficiency=0.93 reuse=1.02
//
// (go test ./metalrt -run Efficiency -v); each result must also match the
// CPU runtime's, which checks the kernels at these long rows and context.
func TestKernelEfficiency(t *testing.T) {
	gxx := emuCompiler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	files, err := KernelFiles()
	require.NoError(t, err)
	bin, _, err := buildEmulator(ctx, gxx, t.TempDir(), files, true)
	require.NoError(t, err)

	cases, weights := efficiencyCases()
	g := newEmuGroup(t, "efficiency", cases, weights)
	lines := make([]string, len(cases))
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				contract, err := plan.Lookup(c.Plan.Commands[0].Dispatches[0].Kernel)
				require.NoError(t, err)
				cov, err := Cover(int64(len(weights)), page, 1<<30, Extents(c.Plan))
				require.NoError(t, err)
				contents := emuContents(c, weights)
				var loads emuLoads // over every dispatch: attention decode's reduction too
				require.NoError(t, emuRunPlan(c.Plan, cov, contents, func(d emuDispatch) ([]byte, error) {
					got, l, err := emuRunLoads(ctx, bin, d)
					loads = emuLoads{loads.asked + l.asked, loads.sectorBytes + l.sectorBytes, loads.loaded + l.loaded, loads.distinct + l.distinct}
					return got, err
				}))
				class := emuTolerance(contract)
				for _, s := range c.Out {
					e := relErr(s.Values(float32s(contents[plan.Logits])), s.Values(g.want[i]))
					assert.LessOrEqualf(t, e, class.bound, "%s: max |emulator − cpu| / max |cpu| = %.3g (bound %g, %s)", s.Name, e, class.bound, class.name)
				}
				assert.LessOrEqual(t, loads.asked, loads.sectorBytes, "bytes asked for fit in the sectors touched")
				assert.LessOrEqual(t, loads.distinct, loads.loaded, "no byte is loaded less than once")
				lines[i] = fmt.Sprintf("efficiency %s sector_efficiency=%.2f reuse=%.2f", c.Name, loads.sectorEfficiency(), loads.reuse())
			})
		}
	})
	for _, l := range lines {
		if l != "" {
			fmt.Println(l)
		}
	}
}
