package runtimecheck

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/golden"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// Runtime is what the model comparisons use of a runtime; Compile returns
// the runtime's own program type P.
type Runtime[P Program] interface {
	Compile(*plan.Plan) (P, error)
	ResetKV()
	Close() error
}

// Subject is the runtime compared with the CPU runtime.
type Subject[R Runtime[P], P Program] struct {
	Name       string // in messages: "Metal chose 12, CPU 7"
	Open       func(weights []byte) (R, error)
	Tolerances Tolerances
}

// Tolerances bound |logit(subject) − logit(CPU)| for whole models, by what
// the model computes with: the GPU kernels keep float activations where
// the CPU runtime (like ggml's) quantises them to Q8_0/Q8_K or rounds them
// to F16/BF16, so models differ by what that costs.
type Tolerances struct {
	F32   float32 // float weights, F32 cache: summation order only
	F16   float32 // activations rounded to F16 on the CPU
	BF16  float32 // activations rounded to BF16 on the CPU
	Quant float32 // Q8 activation steps on the CPU
	KVF16 float32 // added for an F16 cache: rounding flips, carried by the cache
}

// For is the bound for model m with a cache of type kv: that of its
// coarsest weights.
func (tol Tolerances) For(m *mistral.Model, kv quant.Type) float32 {
	bound := tol.F32
	for _, w := range m.Weights.All() {
		switch w.Type {
		case quant.F32:
		case quant.F16:
			bound = max(bound, tol.F16)
		case quant.BF16:
			bound = max(bound, tol.BF16)
		default:
			bound = max(bound, tol.Quant)
		}
	}
	if kv == quant.F16 {
		bound += tol.KVF16
	}
	return bound
}

// pair is one model on the CPU runtime and the subject, with programs per
// step size.
type pair[R Runtime[P], P Program] struct {
	m        *mistral.Model
	cfg      mistral.Config
	cpu      *cpurt.Runtime
	gpu      R
	cpuProgs map[int]*cpurt.Program
	gpuProgs map[int]P
}

func openPair[R Runtime[P], P Program](t *testing.T, s Subject[R, P], file string, kv quant.Type) *pair[R, P] {
	t.Helper()
	m, err := mistral.Open(shareddata.Path(t, "models", filepath.FromSlash(file)))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	cpu, err := cpurt.New(m.File.Bytes(), cpurt.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { cpu.Close() })
	gpu, err := s.Open(m.File.Bytes())
	require.NoError(t, err)
	t.Cleanup(func() { gpu.Close() })
	cfg := m.Config
	cfg.KVType = kv
	return &pair[R, P]{m: m, cfg: cfg, cpu: cpu, gpu: gpu, cpuProgs: map[int]*cpurt.Program{}, gpuProgs: map[int]P{}}
}

// step runs tokens at pos0 on both runtimes and returns their logits.
func (p *pair[R, P]) step(t *testing.T, tokens []int32, pos0 int) (cpu, gpu []float32) {
	t.Helper()
	n := len(tokens)
	if _, ok := p.cpuProgs[n]; !ok {
		g, err := mistral.Build(p.cfg, p.m.Weights, n)
		require.NoError(t, err)
		res, err := passes.Run(g, passes.Target{Weights: p.m.Weights, WeightsSize: p.m.File.Size()}, passes.Options{})
		require.NoError(t, err)
		p.cpuProgs[n], err = p.cpu.Compile(res.Plan)
		require.NoError(t, err)
		p.gpuProgs[n], err = p.gpu.Compile(res.Plan)
		require.NoError(t, err)
	}
	return runCopy(t, p.cpuProgs[n], tokens, pos0), runCopy(t, p.gpuProgs[n], tokens, pos0)
}

// EachGolden runs check on every golden file of the shared models (one
// prompt, one KV cache type), each in a subtest named after the file.
func EachGolden(t *testing.T, check func(t *testing.T, path string)) {
	files, err := filepath.Glob(filepath.Join(shareddata.Path(t, "models", "golden"), "*.once.*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) { check(t, path) })
	}
}

// ModelResult is what CompareModel saw of one golden file.
type ModelResult struct {
	Model, KVType string
	Positions     int // compared
	Agreed        int // greedy tokens chosen alike
	Worst, Median float32
	Tolerance     float32
}

// CompareModel runs the golden file's model and prompt on the CPU runtime
// and the subject: the prompt in one step (the prefill kernels), then
// greedy decoding one token per step from the CPU's choices (the decode
// kernels, the KV cache carried between programs), comparing every
// position's logits. The greedy choice must agree wherever the CPU's
// top-1/top-2 margin exceeds twice the tolerance; at the first near tie
// where it does not, the comparison stops.
func CompareModel[R Runtime[P], P Program](t *testing.T, s Subject[R, P], path string) ModelResult {
	t.Helper()
	rec, err := golden.Read(path)
	require.NoError(t, err)
	kv := quant.F32
	if rec.KVType == "f16" {
		kv = quant.F16
	}
	p := openPair(t, s, rec.Model, kv)
	tol := s.Tolerances.For(p.m, kv)
	vocab := p.cfg.Vocab
	var diffs []float32
	compare := func(pos int, cpu, gpu []float32) {
		d := golden.MaxAbsDiff(gpu, cpu)
		require.LessOrEqualf(t, d, tol, "position %d: max |Δlogit| %g", pos, d)
		diffs = append(diffs, d)
	}
	prompt := rec.PromptIDs
	cpu, gpu := p.step(t, prompt, 0)
	for i := range prompt {
		compare(i, cpu[i*vocab:(i+1)*vocab], gpu[i*vocab:(i+1)*vocab])
	}
	last := len(prompt) - 1
	cpu, gpu = cpu[last*vocab:], gpu[last*vocab:]
	pos := len(prompt)
	agreed := 0
	for k := range 16 {
		want, got := int32(golden.Argmax(cpu)), int32(golden.Argmax(gpu))
		if want != got {
			margin := golden.Margin(cpu)
			require.LessOrEqualf(t, margin, 2*tol, "greedy step %d: %s chose %d, CPU %d with margin %g", k, s.Name, got, want, margin)
			t.Logf("greedy step %d: near tie (margin %g); comparison stops", k, margin)
			break
		}
		agreed++
		cpu, gpu = p.step(t, []int32{want}, pos)
		compare(pos, cpu, gpu)
		pos++
	}
	slices.Sort(diffs)
	median := diffs[len(diffs)/2]
	if tol == s.Tolerances.F32 {
		// A systematic error (a wrong scale, rope or mask) shows at most
		// positions; float models must agree to float noise.
		require.LessOrEqualf(t, median, s.Tolerances.F32/10, "median |Δlogit| over %d positions", len(diffs))
	}
	return ModelResult{Model: rec.Model, KVType: rec.KVType, Positions: len(diffs), Agreed: agreed,
		Worst: diffs[len(diffs)-1], Median: median, Tolerance: tol}
}

// CheckResetKV checks that a reset cache gives the first step's logits
// again, and that the cache is shared between programs of one runtime.
func CheckResetKV[R Runtime[P], P Program](t *testing.T, s Subject[R, P]) {
	p := openPair(t, s, "stories260K.gguf", quant.F32)
	prompt := []int32{1, 403, 407, 261, 378}
	_, first := p.step(t, prompt, 0)
	_, next := p.step(t, []int32{5}, len(prompt))
	p.gpu.ResetKV()
	_, again := p.step(t, prompt, 0)
	require.LessOrEqual(t, golden.MaxAbsDiff(again, first), float32(1e-5), "same prompt, same logits after a reset")
	// Without the prompt in the cache, the next token sees zeros at the
	// earlier positions: the logits change. Refill it and they match.
	p.gpu.ResetKV()
	_, alone := p.step(t, []int32{5}, len(prompt))
	require.Greater(t, golden.MaxAbsDiff(alone, next), float32(1e-3), "the cache was cleared")
	p.step(t, prompt, 0)
	_, refilled := p.step(t, []int32{5}, len(prompt))
	require.LessOrEqual(t, golden.MaxAbsDiff(refilled, next), float32(1e-5))
}
