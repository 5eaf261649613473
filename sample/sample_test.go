package sample

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGreedyPicksArgmax(t *testing.T) {
	s, err := New(Options{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), s.Sample([]float32{0.1, -3, 5, 4.9}))
	assert.Equal(t, int32(0), s.Sample([]float32{7, 7, 1}), "ties go to the lowest id")
}

func TestSeededSamplingIsDeterministic(t *testing.T) {
	logits := make([]float32, 50)
	for i := range logits {
		logits[i] = float32(math.Sin(float64(i)))
	}
	run := func(seed uint64) []int32 {
		s, err := New(Options{Temperature: 1, Seed: seed, TopP: 1})
		require.NoError(t, err)
		var out []int32
		for range 40 {
			out = append(out, s.Sample(logits))
		}
		return out
	}
	assert.Equal(t, run(7), run(7))
	assert.NotEqual(t, run(7), run(8))
}

func TestSamplingFollowsTheDistribution(t *testing.T) {
	// Two tokens with logit gap ln 3: probabilities 0.75 / 0.25.
	logits := []float32{float32(math.Log(3)), 0}
	s, err := New(Options{Temperature: 1, TopP: 1, Seed: 1})
	require.NoError(t, err)
	counts := [2]int{}
	for range 20000 {
		counts[s.Sample(logits)]++
	}
	assert.InDelta(t, 0.75, float64(counts[0])/20000, 0.02)
}

func TestTopKTopPMinPRestrictTheCandidates(t *testing.T) {
	logits := []float32{5, 4, 3, 2, 1, 0}
	seen := func(o Options) map[int32]bool {
		o.Temperature, o.Seed = 5, 3 // flat temperature so truncation decides
		s, err := New(o)
		require.NoError(t, err)
		m := map[int32]bool{}
		for range 3000 {
			m[s.Sample(logits)] = true
		}
		return m
	}
	top2 := map[int32]bool{0: true, 1: true}
	assert.Equal(t, top2, seen(Options{TopK: 2, TopP: 1}))
	assert.Len(t, seen(Options{TopK: 0, TopP: 1}), 6, "k = 0 keeps all")
	assert.Len(t, seen(Options{TopK: -1, TopP: 1}), 6, "k < 0 keeps all, as in llama.cpp")
	// p(0) ≈ 0.636, p(0)+p(1) ≈ 0.87 at temperature 1: top-p 0.8 keeps two.
	assert.Equal(t, top2, seen(Options{TopP: 0.8}))
	// After top-k 2 the softmax is over two tokens: p(0) = 1/(1+e⁻¹) ≈ 0.73
	// reaches 0.7 alone (over all six it would not).
	assert.Equal(t, map[int32]bool{0: true}, seen(Options{TopK: 2, TopP: 0.7}))
	assert.Equal(t, map[int32]bool{0: true}, seen(Options{TopP: 0}), "top-p 0 keeps the most likely token")
	// min-p 0.3 keeps tokens with p ≥ 0.3·p(0): p(1)/p(0) = e⁻¹ ≈ 0.37 stays, e⁻² drops.
	assert.Equal(t, top2, seen(Options{MinP: 0.3, TopP: 1}))
	assert.Len(t, seen(Options{TopP: 1}), 6)
}

// topPKeeps runs the top-p step on candidates already sorted with the
// given probabilities and returns how many stay.
func topPKeeps(t *testing.T, p float32, probs []float64) int {
	t.Helper()
	s, err := New(Options{Temperature: 1, TopP: p})
	require.NoError(t, err)
	for i, q := range probs {
		s.cands = append(s.cands, candidate{id: int32(i), p: q})
	}
	s.truncateTopP()
	return len(s.cands)
}

func TestTopPFollowsLlamaCppsRule(t *testing.T) {
	// Powers of two, so the cumulative sums 0.5, 0.75, 0.875, 1 are exact
	// and the expected sets follow from the rule by hand: the smallest
	// prefix whose sum is ≥ p, at least one token, p ≥ 1 keeping all.
	dyadic := []float64{0.5, 0.25, 0.125, 0.125}
	tenths := []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}
	cases := []struct {
		p     float32
		probs []float64
		keep  int
	}{
		{0.5, dyadic, 1},   // the sum reaches p exactly at the first token
		{0.75, dyadic, 2},  // ... at the second
		{0.875, dyadic, 3}, // ... at the third
		{0.51, dyadic, 2},
		{0.76, dyadic, 3},
		{0.9, dyadic, 4},
		{1, dyadic, 4},                 // p = 1 disables...
		{1, []float64{0.5, 0.5, 0}, 3}, // ...even past a prefix that sums to 1
		{0.99, []float64{0.5, 0.5, 0}, 2},
		{1e-7, dyadic, 1}, // tiny p keeps the most likely token
		{0, dyadic, 1},
		// The sum is float32 as in llama.cpp: 0.1 + 0.1 reaches 0.2 there,
		// though not in float64 (float32(0.2) > 0.2).
		{0.2, tenths, 2},
		// Rounding can leave the total short of p: then every token stays.
		{0.9999, []float64{0.6, 0.3998}, 2},
	}
	for _, c := range cases {
		assert.Equal(t, c.keep, topPKeeps(t, c.p, c.probs), "p %g over %v", c.p, c.probs)
	}
}

func TestRepeatPenaltyDemotesRecentTokens(t *testing.T) {
	s, err := New(Options{RepeatPenalty: 2, RepeatLastN: 4})
	require.NoError(t, err)
	logits := []float32{3, 2, -1}
	assert.Equal(t, int32(0), s.Sample(logits))
	s.Accept(0) // 3/2 = 1.5 < 2
	assert.Equal(t, int32(1), s.Sample(logits))
	for _, id := range []int32{2, 2, 2, 2} { // token 0 leaves the window
		s.Accept(id)
	}
	assert.Equal(t, int32(0), s.Sample(logits))

	// Negative logits are multiplied: -1·2 = -2 falls below -1.5.
	s, err = New(Options{RepeatPenalty: 2, RepeatLastN: 4})
	require.NoError(t, err)
	s.Accept(0)
	assert.Equal(t, int32(1), s.Sample([]float32{-1, -1.5}))

	// A token seen twice is penalised once, as in llama.cpp: 3/2 = 1.5
	// still beats 1.4 (3/4 would not).
	s, err = New(Options{RepeatPenalty: 2, RepeatLastN: 4})
	require.NoError(t, err)
	s.Accept(0)
	s.Accept(0)
	assert.Equal(t, int32(0), s.Sample([]float32{3, 1.4}))
}

func TestBadOptionsAreRejected(t *testing.T) {
	for _, o := range []Options{{Temperature: -1}, {TopP: 1.5}, {TopP: -0.1}, {MinP: -0.1}, {RepeatPenalty: -2}, {RepeatLastN: -1}} {
		_, err := New(o)
		assert.Error(t, err, "%+v", o)
	}
}

func TestDistributionIsWhatSampleDrawsFrom(t *testing.T) {
	logits := []float32{2, 1.5, 0.3, -1, 4, 0}
	o := Options{Temperature: 0.7, TopK: 4, TopP: 0.97, MinP: 0.02, RepeatPenalty: 1.3, RepeatLastN: 8, Seed: 5}
	s, err := New(o)
	require.NoError(t, err)
	s.Accept(4)
	dist := make([]float64, len(logits))
	s.Distribution(logits, dist)
	var sum float64
	for _, p := range dist {
		sum += p
	}
	assert.InDelta(t, 1, sum, 1e-12)
	assert.Zero(t, dist[3], "top-k 4 drops the two smallest logits")
	assert.Zero(t, dist[5])
	const draws = 40000
	counts := make([]float64, len(logits))
	for range draws {
		counts[s.Sample(logits)]++
	}
	for id, p := range dist {
		assert.InDelta(t, p, counts[id]/draws, 0.01, "token %d", id)
	}

	g, err := New(Options{})
	require.NoError(t, err)
	g.Distribution(logits, dist)
	assert.Equal(t, []float64{0, 0, 0, 0, 1, 0}, dist, "greedy: all mass on the argmax")
}
