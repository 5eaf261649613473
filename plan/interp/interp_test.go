package interp_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/ops"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/plan/interp"
	"github.com/metalgraph/metalgraph/quant"
)

// relTolerance bounds |interpreted − reference| / max(1, |reference|) per
// logit. Both sides evaluate the same dequantised weights with the same
// float32 reference ops (summing in float64); a fused op computes its
// parts in the same order as the unfused ones, so the only freedom left is
// float32 rounding of reassociated sums, orders of magnitude below 1e-4,
// while a wrong binding, offset, parameter or order moves logits by units.
const relTolerance = 1e-4

// fusions are the passes that change the graph's ops; disabling them all
// gives plans of the primitive contracts (rope, kv_write, swiglu, add).
var fusions = []string{"fuse_qkv", "fuse_gate_up", "fuse_residual", "fuse_rope_kv"}

// prompt is token ids 1..70 modulo the vocabulary: longer than one 64-token
// step, so N = 64 runs a full step and then a partial one.
func prompt(vocab int) []int32 {
	ids := make([]int32, 70)
	for i := range ids {
		ids[i] = int32((i + 1) % vocab)
	}
	return ids
}

// planner builds and caches one plan per step size.
type planner struct {
	t     *testing.T
	m     *mistral.Model
	opts  passes.Options
	plans map[int]*plan.Plan
}

func (pl *planner) plan(n int) *plan.Plan {
	if p, ok := pl.plans[n]; ok {
		return p
	}
	g, err := mistral.Build(pl.m.Config, pl.m.Weights, n)
	require.NoError(pl.t, err)
	res, err := passes.Run(g, passes.Target{Weights: pl.m.Weights, WeightsSize: pl.m.File.Size()}, pl.opts)
	require.NoError(pl.t, err)
	pl.plans[n] = res.Plan
	return res.Plan
}

// compareSteps runs the prompt through the plans in steps of n tokens (the
// last step shorter) and through the reference evaluator on the unfused
// graphs in the same steps, and compares every logit row. It returns the
// worst relative difference.
func compareSteps(t *testing.T, m *mistral.Model, opts passes.Options, n int) float64 {
	pl := &planner{t: t, m: m, opts: opts, plans: map[int]*plan.Plan{}}
	ids := prompt(m.Config.Vocab)
	it, err := interp.New(pl.plan(n), m.File.Bytes())
	require.NoError(t, err)
	ev := ops.NewEvaluator(m.Weights)
	var worst float64
	for pos := 0; pos < len(ids); pos += n {
		size := min(n, len(ids)-pos)
		require.NoError(t, it.SetPlan(pl.plan(size)))
		got, err := it.Step(ids[pos:pos+size], pos)
		require.NoError(t, err)
		g, err := mistral.Build(m.Config, m.Weights, size)
		require.NoError(t, err)
		want, err := ev.Run(g, ids[pos:pos+size], pos)
		require.NoError(t, err)
		require.Len(t, got, len(want[0].F))
		for i, w := range want[0].F {
			d := math.Abs(float64(got[i])-float64(w)) / math.Max(1, math.Abs(float64(w)))
			require.LessOrEqualf(t, d, relTolerance, "position %d logit %d: interpreted %g, reference %g",
				pos+i/m.Config.Vocab, i%m.Config.Vocab, got[i], w)
			worst = max(worst, d)
		}
	}
	return worst
}

func openShared(t *testing.T, elems ...string) *mistral.Model {
	m, err := mistral.Open(shareddata.Path(t, elems...))
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

func TestPlansComputeTheReferenceLogits(t *testing.T) {
	models := map[string]*mistral.Model{
		"stories260K":    openShared(t, "models", "stories260K.gguf"),
		"synth-gqa-Q4_0": openShared(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf"),
	}
	for name, m := range models {
		for _, n := range []int{1, 2, 5, 8, 64} {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) {
				worst := compareSteps(t, m, passes.Options{}, n)
				t.Logf("worst relative difference %.2g (tolerance %g)", worst, relTolerance)
			})
		}
	}
}

func TestUnfusedPlansComputeTheReferenceLogits(t *testing.T) {
	m := openShared(t, "models", "stories260K.gguf")
	for _, n := range []int{1, 8, 64} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			compareSteps(t, m, passes.Options{Disable: fusions}, n)
		})
	}
}

func TestRandomModelsComputeTheReferenceLogits(t *testing.T) {
	for seed := range uint64(6) {
		m, desc := randomModel(t, seed)
		opts := passes.Options{}
		if seed%2 == 1 {
			opts.Disable = fusions
		}
		t.Logf("seed %d: %s; fusions disabled: %v", seed, desc, opts.Disable != nil)
		for _, n := range []int{1, 2, 5, 8, 64} {
			t.Run(fmt.Sprintf("seed=%d/n=%d", seed, n), func(t *testing.T) {
				compareSteps(t, m, opts, n)
			})
		}
	}
}

// randomModel writes a small random Llama-family GGUF in memory: random
// sizes, GQA ratio, rope dims and scaling, sliding window, tied
// embeddings, weight types and KV cache type.
func randomModel(t *testing.T, seed uint64) (*mistral.Model, string) {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs ...int) int { return xs[r.IntN(len(xs))] }
	headDim := pick(8, 16)
	heads := pick(2, 4)
	kvHeads := pick(1, heads/2, heads)
	dim := heads * headDim
	if dim%32 != 0 { // quantised rows are whole 32-element blocks
		heads, dim = 32/headDim, 32
		kvHeads = heads
	}
	layers, ffn, vocab := 1+r.IntN(3), pick(32, 64, 96), 40+r.IntN(60)
	ropeDims := pick(headDim, headDim/2)
	window := pick(0, 0, 7+r.IntN(20))
	tied := r.IntN(3) == 0
	wtypes := []quant.Type{quant.F32, quant.F16, quant.BF16, quant.Q8_0, quant.Q4_0}
	matType := wtypes[r.IntN(len(wtypes))]

	var buf bytes.Buffer
	w := gguf.NewWriter(&buf)
	kv := func(k string, v gguf.Value) { require.NoError(t, w.AddKV(k, v)) }
	u := func(x int) gguf.Value { return gguf.Uint32Value(uint32(x)) }
	kv("general.architecture", gguf.StringValue("llama"))
	kv("llama.embedding_length", u(dim))
	kv("llama.block_count", u(layers))
	kv("llama.feed_forward_length", u(ffn))
	kv("llama.attention.head_count", u(heads))
	kv("llama.attention.head_count_kv", u(kvHeads))
	kv("llama.context_length", u(96))
	kv("llama.rope.dimension_count", u(ropeDims))
	kv("llama.rope.freq_base", gguf.Float32Value(float32(pick(10000, 500000))))
	kv("llama.rope.scaling.type", gguf.StringValue("linear"))
	kv("llama.rope.scaling.factor", gguf.Float32Value(float32(pick(1, 2))))
	kv("llama.attention.layer_norm_rms_epsilon", gguf.Float32Value(1e-5))
	kv("llama.attention.sliding_window", u(window))

	type tensor struct {
		name       string
		typ        quant.Type
		rows, cols int
	}
	var ts []tensor
	add := func(name string, typ quant.Type, rows, cols int) { ts = append(ts, tensor{name, typ, rows, cols}) }
	add("token_embd.weight", matType, vocab, dim)
	add("output_norm.weight", quant.F32, 1, dim)
	if !tied {
		add("output.weight", wtypes[r.IntN(len(wtypes))], vocab, dim)
	}
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", quant.F32, 1, dim)
		add(p+"attn_q.weight", matType, dim, dim)
		add(p+"attn_k.weight", matType, kvHeads*headDim, dim)
		add(p+"attn_v.weight", matType, kvHeads*headDim, dim)
		add(p+"attn_output.weight", matType, dim, dim)
		add(p+"ffn_norm.weight", quant.F32, 1, dim)
		add(p+"ffn_gate.weight", matType, ffn, dim)
		add(p+"ffn_up.weight", matType, ffn, dim)
		add(p+"ffn_down.weight", matType, dim, ffn)
	}
	for _, x := range ts {
		dims := []int64{int64(x.cols), int64(x.rows)}
		if x.rows == 1 {
			dims = dims[:1]
		}
		require.NoError(t, w.AddTensor(x.name, x.typ, dims))
	}
	require.NoError(t, w.WriteHeader())
	for _, x := range ts {
		rb, err := quant.RowBytes(x.typ, int64(x.cols))
		require.NoError(t, err)
		data := make([]byte, 0, rb*int64(x.rows))
		row := make([]float32, x.cols)
		for range x.rows {
			for i := range row {
				if x.rows == 1 {
					row[i] = 1 + 0.1*float32(r.NormFloat64())
				} else {
					row[i] = float32(r.NormFloat64() / math.Sqrt(float64(x.cols)) * 2)
				}
			}
			enc := make([]byte, rb)
			require.NoError(t, quant.QuantizeRow(x.typ, row, enc))
			data = append(data, enc...)
		}
		require.NoError(t, w.WriteTensorData(x.name, data))
	}
	require.NoError(t, w.Close())
	f, err := gguf.Parse(buf.Bytes())
	require.NoError(t, err)
	m, err := mistral.FromFile(f)
	require.NoError(t, err)
	if r.IntN(2) == 0 {
		m.Config.KVType = quant.F16
	}
	desc := fmt.Sprintf("dim %d, %d layers, %d heads / %d kv of %d (rope %d dims), ffn %d, vocab %d, window %d, tied %v, %s weights, %s cache",
		dim, layers, heads, kvHeads, headDim, ropeDims, ffn, vocab, window, tied, matType, m.Config.KVType)
	return m, desc
}

// TestPrefillThenDecodeShareTheCache prefills 5 tokens with the N = 5 plan,
// switches to the N = 1 plan and decodes 3 more: the decode steps must see
// the prefilled cache, as the reference does token by token.
func TestPrefillThenDecodeShareTheCache(t *testing.T) {
	m := openShared(t, "models", "stories260K.gguf")
	pl := &planner{t: t, m: m, plans: map[int]*plan.Plan{}}
	ids := []int32{1, 403, 407, 261, 378, 6, 7, 8}
	it, err := interp.New(pl.plan(5), m.File.Bytes())
	require.NoError(t, err)
	got, err := it.Step(ids[:5], 0)
	require.NoError(t, err)
	require.NoError(t, it.SetPlan(pl.plan(1)))
	for pos := 5; pos < len(ids); pos++ {
		out, err := it.Step(ids[pos:pos+1], pos)
		require.NoError(t, err)
		got = append(got, out...)
	}

	g, err := mistral.Build(m.Config, m.Weights, 1)
	require.NoError(t, err)
	ev := ops.NewEvaluator(m.Weights)
	var want []float32
	for pos := range ids {
		out, err := ev.Run(g, ids[pos:pos+1], pos)
		require.NoError(t, err)
		want = append(want, out[0].F...)
	}
	require.InDeltaSlice(t, want, got, 1e-4)

	// A fresh interpreter decoding position 5 without the prefill differs:
	// the comparison above depends on the shared cache.
	fresh, err := interp.New(pl.plan(1), m.File.Bytes())
	require.NoError(t, err)
	alone, err := fresh.Step(ids[5:6], 5)
	require.NoError(t, err)
	require.NotEqual(t, want[5*m.Config.Vocab:6*m.Config.Vocab], alone)
}

func TestSetPlanRefusesAnotherKVLayout(t *testing.T) {
	m, _ := randomModel(t, 0)
	pl := &planner{t: t, m: m, plans: map[int]*plan.Plan{}}
	it, err := interp.New(pl.plan(1), m.File.Bytes())
	require.NoError(t, err)
	require.NoError(t, it.SetPlan(pl.plan(3)), "plans of one model share the layout")

	other := *pl.plan(1)
	other.KV = append([]plan.KVLayout(nil), other.KV...)
	other.KV[0].Name, other.KV[1].Name = other.KV[1].Name, other.KV[0].Name
	require.ErrorContains(t, it.SetPlan(&other), "lays out the KV cache differently")
}

// addPlan is a one-dispatch plan: logits[0:4] = arena[0:4] + arena[4:8]
// (N = 1, vocabulary 4), reading arena bytes no dispatch wrote.
func addPlan(kernel string) *plan.Plan {
	p := &plan.Plan{Name: "add", N: 1, Vocab: 4}
	for k, size := range []int64{16, 4, 0, 0, 32, 16} {
		p.Buffers[k] = plan.Buffer{Kind: plan.BufferKind(k), Size: size}
	}
	p.Commands = []plan.CommandBuffer{{Dispatches: []plan.Dispatch{{
		Kernel: kernel, Node: "sum", Params: plan.EltParams{Count: 4}, Grid: plan.Grid{4, 1, 1},
		Bindings: []plan.Binding{
			{Buffer: plan.Arena, Offset: 0, Length: 16, Value: "a"},
			{Buffer: plan.Arena, Offset: 16, Length: 16, Value: "b"},
			{Buffer: plan.Logits, Offset: 0, Length: 16, Write: true, Value: "sum"},
		},
	}}}}
	return p
}

func TestReadingUnwrittenArenaGivesNaN(t *testing.T) {
	it, err := interp.New(addPlan("add"), nil)
	require.NoError(t, err)
	got, err := it.Step([]int32{0}, 0)
	require.NoError(t, err)
	for _, v := range got {
		require.True(t, math.IsNaN(float64(v)), "logits %v", got)
	}
}

func TestRefusesUnknownContracts(t *testing.T) {
	_, err := interp.New(addPlan("frobnicate_q4_0"), nil)
	require.ErrorContains(t, err, "frobnicate_q4_0")
}

func TestStepChecksItsInput(t *testing.T) {
	it, err := interp.New(addPlan("add"), nil)
	require.NoError(t, err)
	_, err = it.Step([]int32{1, 2}, 0)
	require.ErrorContains(t, err, "takes 1 tokens, got 2")
	_, err = it.Step([]int32{1}, -1)
	require.ErrorContains(t, err, "position -1")
	_, err = interp.New(addPlan("add"), make([]byte, 3))
	require.ErrorContains(t, err, "weights are 3 bytes")
}
