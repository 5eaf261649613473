package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Options configure a Sampler. The zero value is greedy decoding; start
// from Defaults to sample.
type Options struct {
	// Temperature divides the logits; 0 means greedy (argmax).
	Temperature float32
	// TopK keeps the K most likely tokens (≤ 0 = all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// sums to at least P, and always the most likely one (1 = all; 0 keeps
	// only the most likely, as llama.cpp's --top-p 0 does).
	TopP float32
	// MinP drops tokens less likely than MinP times the most likely (0 = off).
	MinP float32
	// RepeatPenalty divides positive (multiplies negative) logits of tokens
	// seen in the last RepeatLastN tokens (1 = off; 0 is taken as 1).
	RepeatPenalty float32
	RepeatLastN   int
	// Seed makes sampling deterministic: the same seed and logits give the
	// same tokens.
	Seed uint64
}

// Defaults are llama.cpp's defaults for sampled generation.
func Defaults() Options {
	return Options{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// Validate reports options out of range.
func (o Options) Validate() error {
	switch {
	case o.Temperature < 0 || math.IsNaN(float64(o.Temperature)):
		return fmt.Errorf("temperature %g must be ≥ 0", o.Temperature)
	case o.TopP < 0 || o.TopP > 1:
		return fmt.Errorf("top-p %g must be in [0, 1]", o.TopP)
	case o.MinP < 0 || o.MinP > 1:
		return fmt.Errorf("min-p %g must be in [0, 1]", o.MinP)
	case o.RepeatPenalty < 0:
		return fmt.Errorf("repeat penalty %g must be ≥ 0 (1 = off)", o.RepeatPenalty)
	case o.RepeatLastN < 0:
		return fmt.Errorf("repeat-last-n %d must be ≥ 0", o.RepeatLastN)
	}
	return nil
}

// Sampler picks the next token from logits. It keeps the recent tokens for
// the repetition penalty and its own random stream.
type Sampler struct {
	o       Options
	rng     *rand.Rand
	recent  []int32
	cands   []candidate
	penalty map[int32]bool
}

type candidate struct {
	id    int32
	logit float32
	p     float64
}

// New returns a sampler; options are validated.
func New(o Options) (*Sampler, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.RepeatPenalty == 0 {
		o.RepeatPenalty = 1
	}
	return &Sampler{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), penalty: map[int32]bool{}}, nil
}

// Accept records a token of the context (prompt or generated) for the
// repetition penalty.
func (s *Sampler) Accept(id int32) {
	if s.o.RepeatLastN == 0 {
		return
	}
	s.recent = append(s.recent, id)
	if len(s.recent) > s.o.RepeatLastN {
		s.recent = s.recent[len(s.recent)-s.o.RepeatLastN:]
	}
}

// Sample picks a token from one row of logits (which it does not modify).
func (s *Sampler) Sample(logits []float32) int32 {
	if best, greedy := s.prepare(logits); greedy {
		return best
	}
	r := s.rng.Float64()
	var acc float64
	for _, c := range s.cands {
		acc += c.p
		if r < acc {
			return c.id
		}
	}
	return s.cands[len(s.cands)-1].id
}

// Distribution writes into dst (one entry per logit) the probabilities
// Sample draws from: 1 at the greedy token at temperature 0, 0 for tokens
// the truncations removed. Speculative decoding needs the whole
// distribution to accept or resample drafted tokens without changing what
// is sampled.
func (s *Sampler) Distribution(logits []float32, dst []float64) {
	clear(dst)
	if best, greedy := s.prepare(logits); greedy {
		dst[best] = 1
		return
	}
	for _, c := range s.cands {
		dst[c.id] = c.p
	}
}

// prepare applies the penalty, and at temperature 0 returns the greedy
// token; otherwise it leaves the truncated candidates with their final
// probabilities in s.cands.
func (s *Sampler) prepare(logits []float32) (best int32, greedy bool) {
	s.cands = s.cands[:0]
	for i, l := range logits {
		s.cands = append(s.cands, candidate{id: int32(i), logit: l})
	}
	s.applyPenalty()
	if s.o.Temperature == 0 {
		b := 0
		for i, c := range s.cands {
			if c.logit > s.cands[b].logit {
				b = i
			}
		}
		return s.cands[b].id, true
	}
	sort.SliceStable(s.cands, func(i, j int) bool { return s.cands[i].logit > s.cands[j].logit })
	if k := s.o.TopK; k > 0 && k < len(s.cands) {
		s.cands = s.cands[:k]
	}
	s.softmax(1)
	s.truncateTopP()
	s.truncateMinP()
	s.softmax(s.o.Temperature)
	return 0, false
}

func (s *Sampler) applyPenalty() {
	if s.o.RepeatPenalty == 1 || len(s.recent) == 0 {
		return
	}
	clear(s.penalty)
	for _, id := range s.recent {
		s.penalty[id] = true
	}
	for i := range s.cands {
		if !s.penalty[s.cands[i].id] {
			continue
		}
		if s.cands[i].logit > 0 {
			s.cands[i].logit /= s.o.RepeatPenalty
		} else {
			s.cands[i].logit *= s.o.RepeatPenalty
		}
	}
}

// softmax sets probabilities from logits/temp over the (sorted) candidates.
func (s *Sampler) softmax(temp float32) {
	maxLogit := float64(s.cands[0].logit) / float64(temp)
	var sum float64
	for i := range s.cands {
		p := math.Exp(float64(s.cands[i].logit)/float64(temp) - maxLogit)
		s.cands[i].p = p
		sum += p
	}
	for i := range s.cands {
		s.cands[i].p /= sum
	}
}

// truncateTopP keeps the smallest prefix of the sorted candidates whose
// probability sums to at least TopP (at least one). The sum is float32, as
// llama.cpp's, so that a prefix reaching p there (0.1 + 0.1 ≥ 0.2) does here.
func (s *Sampler) truncateTopP() {
	if s.o.TopP >= 1 {
		return
	}
	var acc float32
	for i, c := range s.cands {
		acc += float32(c.p)
		if acc >= s.o.TopP {
			s.cands = s.cands[:i+1]
			return
		}
	}
}

func (s *Sampler) truncateMinP() {
	if s.o.MinP <= 0 {
		return
	}
	floor := s.cands[0].p * float64(s.o.MinP)
	for i, c := range s.cands {
		if c.p < floor {
			s.cands = s.cands[:max(i, 1)]
			return
		}
	}
}
