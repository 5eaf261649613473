package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/metalgraph/metalgraph/tokenizer"
)

// SpecBenchResult compares decoding a prompt with a drafter against plain
// decoding of the same prompt: medians over the repetitions.
type SpecBenchResult struct {
	// PlainTPS and EffectiveTPS are generated tokens per second of decode
	// without and with drafting.
	PlainTPS, EffectiveTPS float64
	Spec                   SpecStats // of the last speculative repetition
}

// Speedup is EffectiveTPS over PlainTPS.
func (r SpecBenchResult) Speedup() float64 {
	if r.PlainTPS == 0 {
		return 0
	}
	return r.EffectiveTPS / r.PlainTPS
}

// BenchSpeculative generates from prompt reps times without drafting and
// reps times with o.Speculation, after one warm-up run of each (compiling
// every step size), on fresh conversations. Unlike Bench it needs real
// text: what a drafter guesses right depends on it.
func BenchSpeculative(s *Session, tok *tokenizer.Tokenizer, prompt string, o GenerateOptions, reps int) (SpecBenchResult, error) {
	if o.Speculation == nil || reps <= 0 {
		return SpecBenchResult{}, fmt.Errorf("a speculative bench needs a drafter and positive repetitions (got %d)", reps)
	}
	plain := o
	plain.Speculation = nil
	var res SpecBenchResult
	var plainTimes, specTimes []time.Duration
	for rep := -1; rep < reps; rep++ {
		for _, run := range []GenerateOptions{plain, o} {
			s.Reset()
			st, err := Generate(s, tok, prompt, run)
			if err != nil {
				return res, err
			}
			if rep < 0 {
				continue
			}
			// Per-token time, so that runs stopping at different lengths
			// (never, when greedy) still compare.
			perToken := st.GenTime / time.Duration(max(st.Generated-1, 1))
			if run.Speculation == nil {
				plainTimes = append(plainTimes, perToken)
			} else {
				specTimes = append(specTimes, perToken)
				res.Spec = st.Spec
			}
		}
	}
	res.PlainTPS = rate(1, median(plainTimes))
	res.EffectiveTPS = rate(1, median(specTimes))
	return res, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
