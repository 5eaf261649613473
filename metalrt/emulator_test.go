package metalrt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/internal/runtimecheck"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// emuCompiler finds g++; without it the emulator tests skip, except in CI,
// which must run them.
func emuCompiler(t *testing.T) string {
	t.Helper()
	return runtimecheck.GXX(t, "CI runs the MSL kernels on the emulator (.ci/run installs g++)",
		"the MSL kernels are not run on the emulator (install g++ to run them)")
}

// emuClass is a group of kernels that differ from the CPU runtime for the
// same reason, with the bound on relErr that reason allows.
type emuClass struct {
	name  string
	bound float64
}

// emuTolerance says how far a contract's kernel may be from the CPU
// runtime. The emulator computes what the GPU would, so the bounds reflect
// the differences between the GPU kernels and cpurt, not the emulation:
//   - mat-vecs and mat-mats of quantised weights: cpurt quantises the
//     activations to Q8_0/Q8_K as ggml does, the kernels keep them float;
//     for F16 and BF16 weights cpurt rounds the activations to the weight
//     type; the tiled kernel also rounds quantised and F16 weights to half
//     in its tile (exact for F16, within half an ULP of half otherwise);
//   - F32 weights, norms, rope, attention with F32 caches: summation order
//     and libm only;
//   - attention over F16 caches: cpurt rounds the softmax probabilities to
//     half before weighting V, as ggml does, the kernels keep them float;
//   - stores into F16 caches: a value next to a rounding boundary of half
//     may round the other way after a slightly different rope;
//   - embed, swiglu, add: the same float operations.
//
// go test -v -run KernelsOnEmulator ./metalrt logs the worst error per
// class; the bounds leave room above it (3e-2 for quantised weights: the
// gate_up form, silu(Wg·x)·(Wu·x), compounds two Q8 errors up to 2.1e-2).
func emuTolerance(c plan.Contract) emuClass {
	base, _, _ := strings.Cut(c.Family, "@")
	switch base {
	case "matvec", "mtmatvec", "matmul":
		switch c.Weight {
		case quant.F32:
			return emuClass{"mat F32", 1e-5}
		case quant.F16:
			return emuClass{"mat F16 (F16 activations on the CPU)", 3e-3}
		case quant.BF16:
			return emuClass{"mat BF16 (BF16 activations on the CPU)", 2e-2}
		}
		return emuClass{"mat quantised (Q8 activations on the CPU)", 3e-2}
	case "attn_decode", "attn_prefill":
		if c.Cache == quant.F16 {
			return emuClass{"attention F16 cache", 3e-3}
		}
		return emuClass{"attention F32 cache", 1e-5}
	case "rope_kv_write", "kv_write":
		if c.Cache == quant.F16 {
			return emuClass{"kv store F16 cache", 3e-3}
		}
		return emuClass{"kv store F32 cache", 1e-5}
	case "rmsnorm", "rope":
		return emuClass{"rmsnorm, rope", 1e-5}
	}
	return emuClass{"embed, swiglu, add", 1e-6}
}

// relErr is max|a−b| / max|b|, b the reference: the largest error
// relative to the output's scale. A NaN or infinity anywhere is +Inf.
func relErr(a, b []float64) float64 {
	var num, den float64
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) || math.IsInf(a[i], 0) || math.IsInf(b[i], 0) {
			return math.Inf(1)
		}
		num = max(num, math.Abs(a[i]-b[i]))
		den = max(den, math.Abs(b[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// emuContents is what a case's plan buffers hold before its step: the
// weights, the step parameters, the tokens, zeros elsewhere.
func emuContents(c opcases.Case, weights []byte) [][]byte {
	contents := make([][]byte, len(c.Plan.Buffers))
	for k, b := range c.Plan.Buffers {
		contents[k] = make([]byte, b.Size)
	}
	contents[plan.Weights] = weights
	contents[plan.Step] = plan.Encode(plan.StepParams{Pos0: int32(c.Pos0), N: int32(c.Plan.N), KVLen: int32(c.Pos0 + c.Plan.N)})
	for i, id := range c.Tokens {
		binary.LittleEndian.PutUint32(contents[plan.Tokens][4*i:], uint32(id))
	}
	return contents
}

func float32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// emuGroup is a set of cases over one weights buffer, with the CPU
// runtime's outputs.
type emuGroup struct {
	name    string
	cases   []opcases.Case
	weights []byte
	want    [][]float32
}

func newEmuGroup(t *testing.T, name string, cases []opcases.Case, weights []byte) emuGroup {
	t.Helper()
	cpu, err := cpurt.New(weights, cpurt.Options{Threads: 2})
	require.NoError(t, err)
	defer cpu.Close()
	g := emuGroup{name: name, cases: cases, weights: weights}
	for _, c := range cases {
		prog, err := cpu.Compile(c.Plan)
		require.NoError(t, err, c.Name)
		out, err := prog.Run(c.Tokens, c.Pos0)
		require.NoError(t, err, c.Name)
		g.want = append(g.want, slices.Clone(out))
	}
	return g
}

// raggedCases are the tails opcases.All leaves out, run on the emulator
// only: mat-vec and multi-token mat-vec rows longer than one activation
// tile, ending inside one, every multi-token instance, rows of bytes not
// 4-aligned; rows that fill no whole threadgroup (75; the qkv
// split 57/9/9 also puts the q/k and k/v boundaries inside simdgroups),
// float weight rows that end inside a 16-column chunk and a 32-column tile
// step (100 columns), embed rows that end inside a threadgroup, rope and
// rope_kv_write with idle threads and unrotated dims, attention with head
// dims 80 (lanes with fewer elements) and 6 (the scalar dot product), a
// decode threadgroup of 12 simdgroups (a cache of 1500 positions),
// heads without grouping, a sliding window in decode, and a decode step
// that sees one cache row.
func raggedCases() ([]opcases.Case, []byte) {
	w := &opcases.Weights{}
	var cases []opcases.Case
	for _, t := range plan.WeightTypes {
		cols, dim := 256, 288 // K-quant rows are whole super-blocks, whole embed threadgroups too
		if t.BlockSize() == 1 {
			cols, dim = 100, 100
		}
		for _, v := range []struct {
			variant string
			n       int
		}{{"matvec", 2}, {"mtmatvec", 3}, {"matmul", 5}} {
			if v.variant == "matmul" && t.BlockSize() != 1 {
				continue // opcases.All has the row and token tails of the tiles; the column tail is the floats'
			}
			for _, form := range []string{"", "@acc", "@qkv", "@gate_up"} {
				fam := v.variant + form
				name := fmt.Sprintf("%s/rows=75/cols=%d/n=%d", plan.Name(fam, t), cols, v.n)
				cases = append(cases, opcases.Mat(w, name, fam, t, 75, cols, v.n))
			}
		}
		if t.BlockSize() > 32 {
			continue
		}
		b := opcases.New(w, fmt.Sprintf("%s/dim=%d", plan.Name("embed", t), dim), 3)
		b.Input("table", t, 7*dim, dim, 1, 0)
		b.Tokens(7)
		b.Output("out", quant.F32, 3*dim)
		cases = append(cases, b.Done(plan.Name("embed", t), plan.EmbedParams{Dim: int32(dim), Vocab: 7, N: 3}, plan.Grid{dim, 3, 1}, opcases.NMSEFloat))
	}

	// Mat-vecs over several activation tiles and a partial one.
	for _, mt := range []struct {
		variant string
		t       quant.Type
		cols, n int
	}{
		{"mtmatvec", quant.F32, 1300, 8}, {"mtmatvec", quant.Q4_0, 1280, 8}, {"mtmatvec", quant.Q6_K, 1280, 8},
		{"matvec", quant.F32, 2100, 1}, {"matvec", quant.Q4_K, 2304, 2}, {"matvec", quant.Q4_0, 2080, 1},
	} {
		name := fmt.Sprintf("%s/rows=16/cols=%d/n=%d", plan.Name(mt.variant, mt.t), mt.cols, mt.n)
		cases = append(cases, opcases.Mat(w, name, mt.variant, mt.t, 16, mt.cols, mt.n))
	}
	// The multi-token mat-vec's instance for each N (fewer rows per
	// simdgroup as N grows: 10 down to 6 for Q4_0, 6 down to 2 for Q8_0),
	// over two tiles and a part; and rows whose bytes are not 4-aligned
	// (3 Q4_0 blocks, 75 halves), which the kernels copy in 2-byte words.
	for n := 1; n <= mtmatvecMaxN; n++ {
		name := fmt.Sprintf("%s/rows=100/cols=1280/n=%d", plan.Name("mtmatvec", quant.Q4_0), n)
		cases = append(cases, opcases.Mat(w, name, "mtmatvec", quant.Q4_0, 100, 1280, n))
	}
	for _, mt := range []struct {
		fam     string
		t       quant.Type
		cols, n int
	}{
		{"mtmatvec@gate_up", quant.Q8_0, 1024, 7}, {"mtmatvec@qkv", quant.Q5_K, 768, 5},
		{"matvec", quant.Q4_0, 96, 1}, {"mtmatvec@acc", quant.Q4_0, 96, 4}, {"matvec@gate_up", quant.F16, 75, 1},
	} {
		name := fmt.Sprintf("%s/rows=90/cols=%d/n=%d", plan.Name(mt.fam, mt.t), mt.cols, mt.n)
		cases = append(cases, opcases.Mat(w, name, mt.fam, mt.t, 90, mt.cols, mt.n))
	}

	// Every form's pipeline for every N, the weight types taking turns: each
	// (form, N) is an instance of its own.
	forms := []string{"mtmatvec@acc", "mtmatvec@qkv", "mtmatvec@gate_up"}
	for n := 1; n <= mtmatvecMaxN; n++ {
		for i, fam := range forms {
			wt := plan.WeightTypes[(n*len(forms)+i)%len(plan.WeightTypes)]
			name := fmt.Sprintf("%s/rows=40/cols=512/n=%d", plan.Name(fam, wt), n)
			cases = append(cases, opcases.Mat(w, name, fam, wt, 40, 512, n))
		}
	}

	const heads, hd, n = 4, 96, 2
	b := opcases.New(w, "rope/head_dim=96/dims=80", n)
	b.Step()
	b.Input("x", quant.F32, n*heads*hd, heads*hd, 1, 0)
	b.Output("out", quant.F32, n*heads*hd)
	c := b.Done("rope", plan.RopeParams{Heads: heads, HeadDim: hd, Dims: 80, N: n, Base: 10000, FreqScale: 0.5}, plan.Grid{heads, n, 1}, opcases.NMSEFloat)
	c.Pos0 = 3
	cases = append(cases, c)

	for _, ct := range plan.CacheTypes {
		cases = append(cases, opcases.RopeKVWrite(w, plan.Name("rope_kv_write", ct)+"/head_dim=80/dims=64", ct,
			opcases.AttnShape{Heads: 6, KVHeads: 3, HeadDim: 80, Capacity: 8}, 64, 2, 5, 1e4))

		for _, a := range []struct {
			family          string
			shape           opcases.AttnShape
			n, pos0, window int
		}{
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 4, HeadDim: 80, Capacity: 200}, 2, 150, 40},
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 6, Capacity: 64}, 1, 0, 0},
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 1, HeadDim: 128, Capacity: 1500}, 1, 1400, 0}, // 11 of 12 chunks
			// Split-K decode: chunks of 128 rows, at most 32 per query head.
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4096}, 1, 0, 0},    // one row
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4096}, 1, 100, 0},  // less than a chunk
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4096}, 1, 1000, 0}, // 8 chunks, the last partial
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4096}, 1, 4095, 0}, // 32 chunks
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 64, Capacity: 8192}, 1, 5000, 0},  // 32 chunks of 160
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 4, HeadDim: 64, Capacity: 1024}, 1, 700, 0},   // GQA 1:1
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 64, Capacity: 512}, 3, 300, 0},    // GQA 2:1, 3 tokens
			{"attn_decode", opcases.AttnShape{Heads: 8, KVHeads: 1, HeadDim: 128, Capacity: 600}, 1, 599, 0},   // GQA 8:1: 2 head blocks
			{"attn_decode", opcases.AttnShape{Heads: 6, KVHeads: 1, HeadDim: 64, Capacity: 300}, 2, 280, 200},  // blocks of 4 and 2, window
			{"attn_decode", opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 256, Capacity: 300}, 1, 299, 0},   // head_dim 256
			{"attn_prefill", opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 6, Capacity: 64}, 9, 0, 0},
			{"attn_prefill", opcases.AttnShape{Heads: 4, KVHeads: 4, HeadDim: 80, Capacity: 200}, 10, 100, 40},
			// Prefill tiles of 32 query rows (tokens × a GQA group) over
			// blocks of up to 32 cache rows: verification steps after 4096
			// positions, one tile at GQA 4:1.
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4104}, 2, 4096, 0},
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4104}, 3, 4096, 0},
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4104}, 5, 4096, 0},
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4104}, 8, 4096, 0},
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 64}, 64, 0, 0},     // a prefill chunk from position 0: 8 tiles
			{"attn_prefill", opcases.AttnShape{Heads: 6, KVHeads: 1, HeadDim: 64, Capacity: 128}, 13, 50, 0},    // GQA 6:1: 78 rows, the last tile of 14
			{"attn_prefill", opcases.AttnShape{Heads: 4, KVHeads: 4, HeadDim: 64, Capacity: 128}, 33, 60, 0},    // GQA 1:1: tiles of 32 tokens and 1
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 64, Capacity: 200}, 20, 150, 24},  // a window shorter than the step
			{"attn_prefill", opcases.AttnShape{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 700}, 7, 600, 256}, // a window over many blocks
			{"attn_prefill", opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 256, Capacity: 100}, 9, 40, 0},    // head_dim 256: blocks of 8 (F32) or 16 rows
		} {
			name := fmt.Sprintf("%s/heads=%d/%d/head_dim=%d/n=%d/pos0=%d/window=%d", plan.Name(a.family, ct),
				a.shape.Heads, a.shape.KVHeads, a.shape.HeadDim, a.n, a.pos0, a.window)
			cases = append(cases, opcases.Attn(w, name, a.family, ct, a.shape, a.n, a.pos0, a.window))
		}
		cases = append(cases, verifyDecodeCases(w, ct)...)
	}
	return cases, w.Finish(cases)
}

// verifyDecodeCases are attention decode over verification steps, whose
// threadgroups serve every token of the step: N = 2, 3, 5 and 8 from
// position 0 (one chunk), 100 and 4095 (chunks of 160 rows, the last
// ragged), at GQA 1:1, 4:1 and 6:1 in turn, and sliding windows that
// leave each token a different first row (one shorter than a chunk, one
// over many), with head dims 80 and 6 (the scalar paths).
func verifyDecodeCases(w *opcases.Weights, ct quant.Type) []opcases.Case {
	shapes := []opcases.AttnShape{
		{Heads: 4, KVHeads: 4, HeadDim: 64, Capacity: 4104},
		{Heads: 8, KVHeads: 2, HeadDim: 128, Capacity: 4104},
		{Heads: 6, KVHeads: 1, HeadDim: 64, Capacity: 4104},
	}
	type step struct {
		shape           opcases.AttnShape
		n, pos0, window int
	}
	var steps []step
	for i, n := range []int{2, 3, 5, 8} {
		for j, pos0 := range []int{0, 100, 4095} {
			steps = append(steps, step{shapes[(i+j)%len(shapes)], n, pos0, 0})
		}
	}
	steps = append(steps,
		step{shapes[1], 5, 4095, 300},
		step{shapes[2], 8, 100, 50},
		step{opcases.AttnShape{Heads: 4, KVHeads: 2, HeadDim: 80, Capacity: 400}, 3, 300, 200},
		step{opcases.AttnShape{Heads: 4, KVHeads: 1, HeadDim: 6, Capacity: 64}, 8, 10, 0})
	var cases []opcases.Case
	for _, v := range steps {
		name := fmt.Sprintf("%s/heads=%d/%d/head_dim=%d/n=%d/pos0=%d/window=%d", plan.Name("attn_decode", ct),
			v.shape.Heads, v.shape.KVHeads, v.shape.HeadDim, v.n, v.pos0, v.window)
		cases = append(cases, opcases.Attn(w, name, "attn_decode", ct, v.shape, v.n, v.pos0, v.window))
	}
	return cases
}

// TestKernelsOnEmulator runs every op case (package opcases), and the
// ragged cases above, through the MSL kernels on the emulator with the
// launch the encoder issues, and compares each output with the CPU
// runtime's: Linux's stand-in for TestContractsAgainstCPU on a Mac.
func TestKernelsOnEmulator(t *testing.T) {
	gxx := emuCompiler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	files, err := KernelFiles()
	require.NoError(t, err)
	dir := os.Getenv("MSLEMU_KEEP") // keeps the build and every case's input, to rerun by hand
	if dir == "" {
		dir = t.TempDir()
	}
	bin, took, err := buildEmulator(ctx, gxx, dir, files, false)
	require.NoError(t, err)
	t.Logf("g++ built the emulator in %v (sanitizers: %v)", took.Round(time.Millisecond), emuSanitize())

	cases, weights := opcases.All()
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.Plan.Commands[0].Dispatches[0].Kernel] = true
	}
	for _, c := range plan.Contracts() {
		assert.True(t, covered[c.Name], "no op case runs contract %s", c.Name)
	}
	ragged, raggedWeights := raggedCases()
	groups := []emuGroup{newEmuGroup(t, "cases", cases, weights), newEmuGroup(t, "ragged", ragged, raggedWeights)}

	type worst struct {
		err  float64
		name string
	}
	var mu sync.Mutex
	worsts := map[emuClass]worst{}
	start := time.Now()
	t.Run("all", func(t *testing.T) {
		for _, g := range groups {
			for i, c := range g.cases {
				t.Run(g.name+"/"+c.Name, func(t *testing.T) {
					t.Parallel()
					contract, err := plan.Lookup(c.Plan.Commands[0].Dispatches[0].Kernel)
					require.NoError(t, err)
					// Windows of 1 MiB spread most cases' inputs over several
					// buffers; the long caches need windows of their size.
					window := int64(1 << 20)
					for _, e := range Extents(c.Plan) {
						window = max(window, pageUp(e.Length, page)+page)
					}
					cov, err := Cover(int64(len(g.weights)), page, window, Extents(c.Plan))
					require.NoError(t, err)
					contents := emuContents(c, g.weights)
					require.NoError(t, runEmulator(ctx, bin, c.Plan, cov, contents))
					got := float32s(contents[plan.Logits])
					class := emuTolerance(contract)
					for _, s := range c.Out {
						e := relErr(s.Values(got), s.Values(g.want[i]))
						assert.LessOrEqualf(t, e, class.bound, "%s: max |emulator − cpu| / max |cpu| = %.3g (bound %g, %s)", s.Name, e, class.bound, class.name)
						mu.Lock()
						if w, ok := worsts[class]; !ok || e > w.err {
							worsts[class] = worst{e, g.name + "/" + c.Name + " " + s.Name}
						}
						mu.Unlock()
					}
				})
			}
		}
	})
	t.Logf("%d op cases and %d ragged cases on the emulator in %v; worst max|emulator − cpu| / max|cpu| per class:",
		len(cases), len(ragged), time.Since(start).Round(time.Millisecond))
	classes := make([]emuClass, 0, len(worsts))
	for c := range worsts {
		classes = append(classes, c)
	}
	slices.SortFunc(classes, func(a, b emuClass) int { return strings.Compare(a.name, b.name) })
	for _, c := range classes {
		t.Logf("  %-45s %.2e (bound %.0e) %s", c.name, worsts[c].err, c.bound, worsts[c].name)
	}
}

// TestEmulatorCatches runs the kernels of mslemu/testdata/faults.metal:
// the emulated primitives give their known results, and each kernel bug
// the emulator exists to catch stops the run with a message naming it.
func TestEmulatorCatches(t *testing.T) {
	gxx := emuCompiler(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := os.ReadFile("mslemu/testdata/faults.metal")
	require.NoError(t, err)
	bin, _, err := buildEmulator(ctx, gxx, t.TempDir(), []KernelFile{{Name: "faults.metal", Source: string(src)}}, false)
	require.NoError(t, err)

	// at is the place of the n-th line holding text, as the emulator names it.
	at := func(text string, n int) string {
		for i, l := range strings.Split(string(src), "\n") {
			if strings.Contains(l, text) {
				if n--; n == 0 {
					return fmt.Sprintf("faults.metal:%d", i+1)
				}
			}
		}
		t.Fatalf("faults.metal has no line %q", text)
		return ""
	}
	out := func(floats int) emuBuffer { return emuBuffer{index: 0, writable: true, bytes: make([]byte, 4*floats)} }
	one := [3]int{1, 1, 1}
	run := func(kernel string, groups [3]int, threads, tgmem int, bufs ...emuBuffer) ([]float32, error) {
		got, err := emuRun(ctx, bin, emuDispatch{kernel: kernel, groups: groups, threads: [3]int{threads, 1, 1}, tgmem: tgmem, buffers: bufs}, "")
		return float32s(got), err
	}

	got, err := run("primitives", one, 64, 256, out(256))
	require.NoError(t, err)
	for tid := range 64 {
		sg, lane := tid/32, tid%32
		assert.Equal(t, []float32{496, float32(31 + 32*sg), 50, float32(63 - tid)}, got[4*tid:4*tid+4], "thread %d (lane %d)", tid, lane)
	}
	got, err = run("matrix", one, 32, 768, out(64))
	require.NoError(t, err)
	for i := range 8 {
		for j := range 8 {
			want := float32(0)
			if j < 7 {
				want = float32(8*i + j + 1)
			}
			if i == j {
				want++
			}
			assert.Equal(t, want, got[8*i+j], "C[%d][%d]", i, j)
		}
	}
	got, err = run("uninitialised", one, 64, 256, out(64))
	require.NoError(t, err)
	for i, v := range got {
		require.True(t, math.IsNaN(float64(v)), "threadgroup memory starts as NaN: out[%d] = %g", i, v)
	}

	for _, c := range []struct {
		kernel         string
		groups         [3]int
		threads, tgmem int
		bufs           []emuBuffer
		want           string
	}{
		{"race", one, 64, 256, []emuBuffer{out(64)}, "the result depends on the order threads run in"},
		{"skew", one, 64, 256, []emuBuffer{out(64)}, "buffer(0) byte 130 is 00 in ascending order and 80 in descending order"},
		{"same_place", [3]int{4, 1, 1}, 32, 0, []emuBuffer{out(1)}, "buffer(0) byte 2 is 40 in ascending order and 00 in descending order"},
		{"diverged", one, 32, 0, []emuBuffer{out(32)}, "in simd_sum at " + at("v = simd_sum(v);", 1) + ": lane 16 waits in simd_max at " + at("v = simd_max(v);", 1) + ": the simdgroup diverged"},
		{"early_return", one, 64, 256, []emuBuffer{out(64)}, "32 of the 64 threads returned before this barrier"},
		{"two_barriers", one, 64, 0, []emuBuffer{out(64)}, "thread 32 waits in threadgroup_barrier at " + at("threadgroup_barrier(mem_flags::mem_device);", 2) + ": threads of the threadgroup wait at different barriers"},
		{"stuck", one, 32, 0, []emuBuffer{out(32)}, "never complete: 16 from thread 0 in threadgroup_barrier at " + at("threadgroup_barrier(mem_flags::mem_device);", 3) + "; 16 from thread 16 in simd_sum at " + at("v = simd_sum(v);", 2) + ";"},
		{"broadcast_lane", one, 32, 0, []emuBuffer{out(32)}, "simd_broadcast: lane 0 reads lane 1, lane 1 reads lane 0 (the lane must be uniform)"},
		{"matrix_lanes", one, 32, 0, []emuBuffer{out(64)}, "lanes 0 and 1 hold different matrices"},
		{"store", one, 64, 0, []emuBuffer{out(63)}, map[bool]string{
			false: "wrote byte 0 past the end of buffer(0) (252 bytes)",
			true:  "ERROR: AddressSanitizer"}[emuSanitize()]},
		{"store", one, 64, 0, []emuBuffer{out(60)}, "thread 60 (simdgroup 1, lane 28): invalid access at 0x"},
		{"store", one, 64, 0, []emuBuffer{out(60)}, ": byte 0 past the end of buffer(0) (240 bytes)"},
		{"read_only", one, 64, 0, []emuBuffer{{index: 0, bytes: make([]byte, 256)}, {index: 1, writable: true, bytes: make([]byte, 256)}}, "a write to read-only buffer(0)"},
		{"tg_overrun", one, 64, 256, []emuBuffer{out(64)}, "byte 0 past the end of threadgroup memory (256 bytes)"},
		{"store", one, 64, 0, nil, "bad input: store takes buffer(0), which the dispatch does not bind"},
		{"store", one, 64, 256, []emuBuffer{out(64)}, "store takes no threadgroup memory; the dispatch gives 256 bytes"},
	} {
		_, err := run(c.kernel, c.groups, c.threads, c.tgmem, c.bufs...)
		if assert.Error(t, err, c.kernel) {
			assert.Contains(t, err.Error(), c.want, c.kernel)
		}
	}
}

// The launch table casts each buffer to its parameter's type, with the
// template arguments in place, and refuses attributes it cannot provide.
func TestEmuTable(t *testing.T) {
	src := kernelSource(t)
	table, err := emuTable(src)
	require.NoError(t, err)
	assert.Contains(t, table, `{"attn_decode_f16_n3", [](void *const *b, void *tg, const mslemu::ThreadPos &pos) { attn_decode<half, 3>(`+
		`(const StepParams*)b[0], (const float*)b[1], (const half*)b[2], (const half*)b[3], (float*)b[4], *(AttnParams*)b[5], (float*)b[6], (float*)tg, `+
		`uint3(pos.tgpig), ushort(pos.tiitg), ushort(pos.sgitg), ushort(pos.tiisg)); }, {0, 1, 2, 3, 4, 5, 6}, true, 0x20},`)
	assert.Contains(t, table, `{"attn_decode_reduce", [](void *const *b, void *tg, const mslemu::ThreadPos &pos) { attn_decode_reduce(`+
		`(const StepParams*)b[0], (float*)b[4], *(AttnParams*)b[5], (const float*)b[6], uint3(pos.tgpig), ushort(pos.tiisg)); }, {0, 4, 5, 6}, false, 0x20},`)
	assert.Contains(t, table, `{"mtmatvec_q6_k_gate_up_n5", [](void *const *b, void *tg, const mslemu::ThreadPos &pos) { mtmatvec_gate_up<DecQ6_K, 5>(`+
		`(const uchar*)b[0], (const uchar*)b[1], (const float*)b[2], (float*)b[3], *(MatParams*)b[4], (uchar*)tg, `+
		`uint3(pos.tgpig), ushort(pos.tiitg), ushort(pos.sgitg), ushort(pos.tiisg)); }, {0, 1, 2, 3, 4}, true, 0x10},`)
	assert.Equal(t, len(src.hosts), strings.Count(table, "\n"), "a launcher per host name")

	bad, err := parseMSL([]KernelFile{{Name: "bad.metal", Source: "kernel void k(device float *out [[buffer(0)]], uint gid [[thread_position_in_grid]]) {}\n"}})
	require.NoError(t, err)
	_, err = emuTable(bad)
	require.ErrorContains(t, err, "kernel k: parameter gid has attribute [[thread_position_in_grid]], which the emulator does not provide")
}
