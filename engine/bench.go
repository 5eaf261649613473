package engine

import (
	"fmt"
	"slices"
	"time"
)

// BenchOptions describe a llama-bench style measurement: prefill of
// Prompt tokens, then Gen decode steps, Reps times.
type BenchOptions struct {
	Prompt, Gen, Reps int
}

// BenchResult holds the median speeds over the repetitions.
type BenchResult struct {
	PromptTPS, GenTPS float64
	PromptTimes       []time.Duration
	GenTimes          []time.Duration
}

// Bench measures prefill and decode speed on synthetic token ids (speed
// does not depend on which tokens). Programs are compiled before timing.
func Bench(s *Session, o BenchOptions) (BenchResult, error) {
	if o.Prompt <= 0 || o.Gen < 0 || o.Reps <= 0 {
		return BenchResult{}, fmt.Errorf("bench needs a positive prompt length and repetitions (got prompt %d, gen %d, reps %d)", o.Prompt, o.Gen, o.Reps)
	}
	if o.Prompt+o.Gen > s.Config().Context {
		return BenchResult{}, &ErrContextFull{Pos: 0, N: o.Prompt + o.Gen, Context: s.Config().Context}
	}
	ids := make([]int32, o.Prompt)
	for i := range ids {
		ids[i] = int32((i*7919 + 17) % s.Config().Vocab)
	}
	var res BenchResult
	for rep := -1; rep < o.Reps; rep++ { // rep -1 warms up: compiles programs, faults pages in
		s.Reset()
		start := time.Now()
		if _, err := s.Prefill(ids); err != nil {
			return res, err
		}
		prompt := time.Since(start)
		start = time.Now()
		for i := range o.Gen {
			if _, err := s.Step([]int32{ids[i%len(ids)]}); err != nil {
				return res, err
			}
		}
		if rep >= 0 {
			res.PromptTimes = append(res.PromptTimes, prompt)
			res.GenTimes = append(res.GenTimes, time.Since(start))
		}
	}
	res.PromptTPS = rate(o.Prompt, median(res.PromptTimes))
	res.GenTPS = rate(o.Gen, median(res.GenTimes))
	return res, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
