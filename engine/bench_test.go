package engine_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
)

func TestBenchTestNamesAreLlamaBenchs(t *testing.T) {
	assert.Equal(t, "pp512", engine.BenchTest{Prompt: 512}.Name())
	assert.Equal(t, "tg128", engine.BenchTest{Gen: 128}.Name())
	assert.Equal(t, "pp512+tg128", engine.BenchTest{Prompt: 512, Gen: 128}.Name())
	assert.Equal(t, 640, engine.BenchTest{Prompt: 512, Gen: 128}.Tokens())
}

func TestBenchStatistics(t *testing.T) {
	// 8 tokens in 1, 2 and 4 seconds: 8, 4 and 2 tokens/s.
	r := engine.BenchResult{Test: engine.BenchTest{Prompt: 6, Gen: 2}, Samples: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}}
	assert.Equal(t, []float64{8, 4, 2}, r.TPS())
	assert.InDelta(t, 14.0/3, r.MeanTPS(), 1e-12)
	// Sample deviation: squares of 10/3, -2/3, -8/3 sum to 168/9; over n-1 = 2.
	assert.InDelta(t, math.Sqrt(168.0/9/2), r.StdDevTPS(), 1e-12)

	one := engine.BenchResult{Test: engine.BenchTest{Gen: 100}, Samples: []time.Duration{250 * time.Millisecond}}
	assert.Equal(t, 400.0, one.MeanTPS())
	assert.Equal(t, 0.0, one.StdDevTPS(), "one run has no spread")
}

// Each timed run starts from an empty cache (a generation test at position
// 0, as in llama-bench) and runs exactly the test's tokens.
func TestBenchRunsEachTestFromAnEmptyCache(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{Context: 32})
	for _, test := range []engine.BenchTest{{Prompt: 16}, {Gen: 4}, {Prompt: 8, Gen: 4}} {
		var reps []int
		var times []time.Duration
		res, err := engine.Bench(s, test, 3, func(rep int, d time.Duration) {
			reps = append(reps, rep)
			times = append(times, d)
		})
		require.NoError(t, err, test.Name())
		assert.Equal(t, test, res.Test)
		assert.Equal(t, []int{0, 1, 2}, reps, test.Name())
		assert.Equal(t, times, res.Samples, test.Name())
		for _, tps := range res.TPS() {
			assert.Positive(t, tps, test.Name())
		}
		assert.Equal(t, test.Tokens(), s.Pos(), "%s: the last run holds only its own tokens", test.Name())
	}
}

func TestBenchRefusesWhatItCannotRun(t *testing.T) {
	f := open(t, "models", "stories260K.gguf")
	s := f.session(t, engine.Options{Context: 8})
	_, err := engine.Bench(s, engine.BenchTest{Prompt: 8, Gen: 1}, 1, nil)
	var full *engine.ErrContextFull
	require.True(t, errors.As(err, &full), "%v", err)
	assert.Equal(t, 9, full.N)

	for _, c := range []struct {
		test engine.BenchTest
		reps int
	}{{engine.BenchTest{}, 1}, {engine.BenchTest{Prompt: -1, Gen: 2}, 1}, {engine.BenchTest{Gen: 2}, 0}} {
		_, err := engine.Bench(s, c.test, c.reps, nil)
		assert.ErrorContains(t, err, "bench needs tokens to run and a positive number of repetitions", "%+v", c)
	}
	assert.Equal(t, 0, s.Pos(), "nothing ran")
}
