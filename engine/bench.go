package engine

import (
	"fmt"
	"math"
	"time"
)

// BenchTest is one measurement in llama-bench's sense: from an empty
// cache, a prefill of Prompt tokens, then Gen decode steps of one token.
// llama-bench's "pp512" is {Prompt: 512}, its "tg128" is {Gen: 128}: a
// generation test starts at position 0, as llama-bench's does.
type BenchTest struct {
	Prompt, Gen int
}

// Name is the test's name in llama-bench's tables: "pp512", "tg128" or
// "pp512+tg128".
func (t BenchTest) Name() string {
	switch {
	case t.Gen == 0:
		return fmt.Sprintf("pp%d", t.Prompt)
	case t.Prompt == 0:
		return fmt.Sprintf("tg%d", t.Gen)
	}
	return fmt.Sprintf("pp%d+tg%d", t.Prompt, t.Gen)
}

// Tokens is how many tokens one run of the test processes, the positions
// it needs in the cache.
func (t BenchTest) Tokens() int { return t.Prompt + t.Gen }

// BenchResult holds the timed runs of a test.
type BenchResult struct {
	Test    BenchTest
	Samples []time.Duration
}

// TPS is the speed of each run: the test's tokens over the run's time.
func (r BenchResult) TPS() []float64 {
	tps := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		tps[i] = rate(r.Test.Tokens(), d)
	}
	return tps
}

// MeanTPS is the mean speed over the runs, as llama-bench reports it.
func (r BenchResult) MeanTPS() float64 { return mean(r.TPS()) }

// StdDevTPS is the sample standard deviation of the runs' speeds (n-1 in
// the denominator, llama-bench's), 0 for a single run.
func (r BenchResult) StdDevTPS() float64 {
	tps := r.TPS()
	if len(tps) < 2 {
		return 0
	}
	m, sum := mean(tps), 0.0
	for _, v := range tps {
		sum += (v - m) * (v - m)
	}
	return math.Sqrt(sum / float64(len(tps)-1))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// Bench measures test on synthetic token ids (speed does not depend on
// which tokens): one untimed warm-up run, which compiles the programs and
// faults the weights in (the whole prompt, and one decode step, as
// llama-bench warms up), then reps timed runs, each from an empty cache.
// done, if not nil, is called after each timed run with its 0-based index.
func Bench(s *Session, test BenchTest, reps int, done func(rep int, d time.Duration)) (BenchResult, error) {
	res := BenchResult{Test: test}
	if test.Prompt < 0 || test.Gen < 0 || test.Tokens() == 0 || reps <= 0 {
		return res, fmt.Errorf("bench needs tokens to run and a positive number of repetitions (got prompt %d, gen %d, reps %d)", test.Prompt, test.Gen, reps)
	}
	if test.Tokens() > s.Config().Context {
		return res, &ErrContextFull{Pos: 0, N: test.Tokens(), Context: s.Config().Context}
	}
	ids := make([]int32, test.Tokens())
	for i := range ids {
		ids[i] = int32((i*7919 + 17) % s.Config().Vocab)
	}
	warmUp := BenchTest{Prompt: test.Prompt, Gen: min(test.Gen, 1)}
	s.Reset()
	if err := benchRun(s, warmUp, ids); err != nil {
		return res, err
	}
	for rep := range reps {
		s.Reset() // before the clock starts: clearing a large cache takes time
		start := time.Now()
		if err := benchRun(s, test, ids); err != nil {
			return res, err
		}
		res.Samples = append(res.Samples, time.Since(start))
		if done != nil {
			done(rep, res.Samples[rep])
		}
	}
	return res, nil
}

// benchRun runs test once on the session's (empty) cache.
func benchRun(s *Session, test BenchTest, ids []int32) error {
	if test.Prompt > 0 {
		if _, err := s.Prefill(ids[:test.Prompt]); err != nil {
			return err
		}
	}
	for _, id := range ids[test.Prompt:test.Tokens()] {
		if _, err := s.Step([]int32{id}); err != nil {
			return err
		}
	}
	return nil
}
