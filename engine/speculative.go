package engine

import (
	"fmt"
	"slices"

	"github.com/metalgraph/metalgraph/sample"
)

// DefaultDraftMax is the most tokens drafted per step unless asked
// otherwise (llama.cpp's speculative example drafts 5 too at its default).
const DefaultDraftMax = 5

// MaxDraftMax bounds the draft length: a verification step runs k + 1
// tokens, and up to 8 the passes select the multi-token mat-vec variants
// that read each weight once for all of them.
const MaxDraftMax = 7

// Speculation configures speculative decoding in Generate.
type Speculation struct {
	Drafter Drafter
	// DraftMax is the most tokens drafted per step (0: DefaultDraftMax).
	// The length drafted adapts between 1 and DraftMax: one more after a
	// step that accepted every draft, one fewer after one that accepted
	// none.
	DraftMax int
}

// SpecStats count what speculative decoding did.
type SpecStats struct {
	Drafted, Accepted int
	// TargetSteps counts the target's decode steps, verifications and
	// plain ones (when nothing was drafted) alike.
	TargetSteps int
}

// AcceptanceRate is the share of drafted tokens the target accepted.
func (s SpecStats) AcceptanceRate() float64 {
	if s.Drafted == 0 {
		return 0
	}
	return float64(s.Accepted) / float64(s.Drafted)
}

// speculator runs the decode steps of one Generate with a drafter.
type speculator struct {
	s        *Session
	drafter  Drafter
	sampler  *sample.Sampler
	verifier *verifier
	k, max   int
	p        []float64
	stats    SpecStats
}

func newSpeculator(s *Session, o Speculation, sampler *sample.Sampler, seed uint64) (*speculator, error) {
	if o.Drafter == nil {
		return nil, fmt.Errorf("speculative decoding needs a drafter")
	}
	if o.DraftMax == 0 {
		o.DraftMax = DefaultDraftMax
	}
	if o.DraftMax < 1 || o.DraftMax > MaxDraftMax {
		return nil, fmt.Errorf("draft length %d must be between 1 and %d", o.DraftMax, MaxDraftMax)
	}
	s.programs.keepUpTo(o.DraftMax + 1)
	return &speculator{s: s, drafter: o.Drafter, sampler: sampler, verifier: newVerifier(seed),
		k: o.DraftMax, max: o.DraftMax, p: make([]float64, s.cfg.Vocab)}, nil
}

// step feeds next, the last sampled token, with up to budget drafted
// tokens after it in one target step, and returns the drafts the target
// accepted (already recorded by the sampler, and in the session) and the
// token that follows them (not yet recorded, not yet run).
func (sp *speculator) step(next int32, budget int) ([]int32, int32, error) {
	s := sp.s
	base := s.Pos()
	k := min(sp.k, budget, s.cfg.Context-base-1)
	var d Draft
	if k > 0 {
		var err error
		if d, err = sp.drafter.Draft(slices.Concat(s.tokens, []int32{next}), k); err != nil {
			return nil, 0, fmt.Errorf("draft: %w", err)
		}
	}
	if err := d.check(s.cfg.Vocab); err != nil {
		return nil, 0, err
	}
	drafts := d.Tokens
	if len(drafts) > k { // a drafter may propose more than asked
		drafts = drafts[:k]
	}
	logits, err := s.Step(append([]int32{next}, drafts...))
	if err != nil {
		return nil, 0, err
	}
	sp.stats.TargetSteps++
	vocab := s.cfg.Vocab
	accepted, follow, err := sp.verifier.verify(drafts, d.Probs, func(i int) ([]float64, error) {
		row := logits[i*vocab : (i+1)*vocab]
		if err := checkFinite(row, base+i); err != nil {
			return nil, err
		}
		if i > 0 {
			sp.sampler.Accept(drafts[i-1])
		}
		sp.sampler.Distribution(row, sp.p)
		return sp.p, nil
	})
	if err != nil {
		_ = s.Truncate(base) // as a failed Step would: base is within the session
		s.pending = []int32{next}
		return nil, 0, err
	}
	if err := s.Truncate(base + 1 + accepted); err != nil {
		return nil, 0, err
	}
	sp.adapt(len(drafts), accepted)
	return drafts[:accepted], follow, nil
}

// check refuses a draft the verifier cannot use: Drafter is open to
// implementations outside this package.
func (d Draft) check(vocab int) error {
	if d.Probs != nil && len(d.Probs) != len(d.Tokens) {
		return fmt.Errorf("draft: %d tokens but %d distributions", len(d.Tokens), len(d.Probs))
	}
	for i, id := range d.Tokens {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("draft: token %d is outside the target's vocabulary of %d", id, vocab)
		}
		if d.Probs != nil && len(d.Probs[i]) != vocab {
			return fmt.Errorf("draft: distribution %d has %d entries for a vocabulary of %d", i, len(d.Probs[i]), vocab)
		}
	}
	return nil
}

// adapt lengthens the drafts after a step that accepted all of them and
// shortens them after one that accepted none: long drafts pay only while
// the drafter keeps guessing right, and each rejected one costs a position
// of the verification step.
func (sp *speculator) adapt(drafted, accepted int) {
	sp.stats.Drafted += drafted
	sp.stats.Accepted += accepted
	switch {
	case drafted == 0:
	case accepted == drafted:
		sp.k = min(sp.k+1, sp.max)
	case accepted == 0:
		sp.k = max(sp.k-1, 1)
	}
}
