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
	s, err := New(Options{Temperature: 1, Seed: 1})
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
	assert.Equal(t, map[int32]bool{0: true, 1: true}, seen(Options{TopK: 2}))
	// p(0) ≈ 0.636, p(0)+p(1) ≈ 0.87 at temperature 1: top-p 0.8 keeps two.
	assert.Equal(t, map[int32]bool{0: true, 1: true}, seen(Options{TopP: 0.8}))
	// min-p 0.3 keeps tokens with p ≥ 0.3·p(0): p(1)/p(0) = e⁻¹ ≈ 0.37 stays, e⁻² drops.
	assert.Equal(t, map[int32]bool{0: true, 1: true}, seen(Options{MinP: 0.3}))
	assert.Len(t, seen(Options{}), 6)
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
}

func TestBadOptionsAreRejected(t *testing.T) {
	for _, o := range []Options{{Temperature: -1}, {TopK: -1}, {TopP: 1.5}, {MinP: -0.1}, {RepeatPenalty: -2}, {RepeatLastN: -1}} {
		_, err := New(o)
		assert.Error(t, err, "%+v", o)
	}
}
