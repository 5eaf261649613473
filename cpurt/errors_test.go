package cpurt

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// embedPlan is a one-dispatch plan: an F32 embed of a 10-row table into
// the logits buffer, so Run returns the rows.
func embedPlan(t *testing.T, n int) (*planBuilder, *plan.Plan) {
	const vocab, dim = 10, 4
	b := &planBuilder{n: n}
	table := make([]float32, vocab*dim)
	for i := range table {
		table[i] = float32(i)
	}
	data, _ := quantized(t, quant.F32, vocab, dim, table)
	out := plan.Binding{Buffer: plan.Logits, Length: int64(4 * n * dim), Value: "logits"}
	pl := b.plan(t, "embed_f32", plan.EmbedParams{Dim: dim, Vocab: vocab, N: int32(n)}, b.weight("table", data), b.tokens(), out)
	pl.Vocab = dim
	pl.Buffers[plan.Logits].Size = out.Length
	return b, pl
}

func TestRunReturnsLogits(t *testing.T) {
	b, pl := embedPlan(t, 2)
	p := b.compile(t, pl)
	logits, err := p.Run([]int32{2, 9}, 0)
	require.NoError(t, err)
	require.Equal(t, []float32{8, 9, 10, 11, 36, 37, 38, 39}, logits)
}

func TestThreadsAreBounded(t *testing.T) {
	for _, n := range []int{-1, MaxThreads() + 1, 1_000_000} {
		_, err := New(nil, Options{Threads: n})
		require.EqualError(t, err, fmt.Sprintf("cpurt: %d threads: must be between 0 (all cores) and %d", n, MaxThreads()))
	}
	for n, want := range map[int]int{0: runtime.NumCPU(), MaxThreads(): MaxThreads()} {
		rt, err := New(nil, Options{Threads: n})
		require.NoError(t, err)
		require.Equal(t, want, rt.Threads())
		require.NoError(t, rt.Close())
	}
}

func TestUnknownContract(t *testing.T) {
	b, pl := embedPlan(t, 1)
	pl.Commands[0].Dispatches[0].Kernel = "embed_q2_k"
	rt, err := New(b.weights, Options{Threads: 1})
	require.NoError(t, err)
	defer rt.Close()
	_, err = rt.Compile(pl)
	require.EqualError(t, err, `cpurt: plan needs kernel "embed_q2_k", which the CPU runtime lacks`)
}

func TestWeightsBufferTooSmall(t *testing.T) {
	b, pl := embedPlan(t, 1)
	rt, err := New(b.weights[:len(b.weights)-1], Options{Threads: 1})
	require.NoError(t, err)
	defer rt.Close()
	_, err = rt.Compile(pl)
	require.ErrorContains(t, err, "needs a weights buffer of 160 bytes, the runtime was given 159")
}

func TestBindingTooSmallForParameters(t *testing.T) {
	b, pl := embedPlan(t, 1)
	pl.Commands[0].Dispatches[0].Params = plan.EmbedParams{Dim: 4, Vocab: 11, N: 1}
	rt, err := New(b.weights, Options{Threads: 1})
	require.NoError(t, err)
	defer rt.Close()
	_, err = rt.Compile(pl)
	require.ErrorContains(t, err, "binding 0 (table, table) has 160 bytes, the parameters need 176")
}

func TestBadTokens(t *testing.T) {
	b, pl := embedPlan(t, 2)
	p := b.compile(t, pl)
	_, err := p.Run([]int32{1, 10}, 0)
	require.EqualError(t, err, "cpurt: token 1 of the step has id 10, outside the vocabulary of 10 tokens")
	_, err = p.Run([]int32{-1, 0}, 0)
	require.ErrorContains(t, err, "id -1, outside the vocabulary")
	_, err = p.Run([]int32{1}, 0)
	require.EqualError(t, err, "cpurt: program embed_f32 takes steps of 2 tokens, got 1")
	_, err = p.Run([]int32{1, 2}, -1)
	require.ErrorContains(t, err, "negative start position -1")
}

// kvPlan is a kv_write of n tokens into caches of the given capacity.
func kvPlan(t *testing.T, n, capacity int) (*planBuilder, *plan.Plan) {
	const width = 8
	b := &planBuilder{n: n}
	kb, vb := b.act("k", n*width), b.act("v", n*width)
	kc, vc := b.cache("kc", quant.F32, capacity*width), b.cache("vc", quant.F32, capacity*width)
	pr := plan.KVParams{Width: width, N: int32(n), Capacity: int32(capacity)}
	return b, b.plan(t, "kv_write_f32", pr, stepBinding(), kb, vb, kc, vc)
}

func TestContextFull(t *testing.T) {
	b, pl := kvPlan(t, 3, 8)
	p := b.compile(t, pl)
	_, err := p.Run(make([]int32, 3), 5)
	require.NoError(t, err, "positions 5..7 fill the cache exactly")
	_, err = p.Run(make([]int32, 3), 6)
	require.EqualError(t, err, "cpurt: context full: position 8 exceeds the context of 8 tokens")
}

func TestKVCacheSharedAcrossPrograms(t *testing.T) {
	b1, p1 := kvPlan(t, 1, 8)
	_, p4 := kvPlan(t, 4, 8)
	_, other := kvPlan(t, 1, 16)
	rt, err := New(b1.weights, Options{Threads: 2})
	require.NoError(t, err)
	defer rt.Close()
	one, err := rt.Compile(p1)
	require.NoError(t, err)
	four, err := rt.Compile(p4)
	require.NoError(t, err)
	_, err = rt.Compile(other)
	require.ErrorContains(t, err, "has a 1024-byte KV cache, but this runtime's cache (from its first plan) has 512 bytes")

	// The N=4 program writes positions 0..3 and the N=1 program position 4
	// of the same cache.
	k := floats(t, four, p4.Commands[0].Dispatches[0].Bindings[1])
	for i := range k {
		k[i] = 1
	}
	_, err = four.Run(make([]int32, 4), 0)
	require.NoError(t, err)
	k1 := floats(t, one, p1.Commands[0].Dispatches[0].Bindings[1])
	for i := range k1 {
		k1[i] = 2
	}
	_, err = one.Run([]int32{0}, 4)
	require.NoError(t, err)
	kc := floats(t, one, p1.Commands[0].Dispatches[0].Bindings[3])
	require.Equal(t, float32(1), kc[3*8], "position 3 from the N=4 program")
	require.Equal(t, float32(2), kc[4*8], "position 4 from the N=1 program")
	require.Equal(t, float32(0), kc[5*8])

	rt.ResetKV()
	require.Equal(t, float32(0), kc[3*8])
}

func TestClosedRuntime(t *testing.T) {
	b, pl := embedPlan(t, 1)
	rt, err := New(b.weights, Options{Threads: 2})
	require.NoError(t, err)
	p, err := rt.Compile(pl)
	require.NoError(t, err)
	require.NoError(t, rt.Close())
	_, err = p.Run([]int32{0}, 0)
	require.ErrorContains(t, err, "the runtime is closed")
	_, err = rt.Compile(pl)
	require.ErrorContains(t, err, "the runtime is closed")
}

func TestNonFiniteActivationIsAnError(t *testing.T) {
	const cols, rows = 32, 4
	b := &planBuilder{n: 1}
	data, _ := quantized(t, quant.Q8_0, rows, cols, make([]float32, rows*cols))
	xb, y := b.act("x", cols), b.act("y", rows)
	p := b.compile(t, b.plan(t, "matvec_q8_0", plan.MatParams{Rows: rows, Cols: cols, N: 1}, b.weight("w", data), xb, y))
	floats(t, p, xb)[7] = float32(math.Inf(1))
	_, err := p.Run([]int32{0}, 0)
	require.ErrorContains(t, err, "node test/matvec_q8_0 (matvec_q8_0)")
	require.ErrorContains(t, err, "element 7 is +Inf")
}
