package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/metalgraph/metalgraph/sample"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// Drafter proposes tokens for the target to verify.
type Drafter interface {
	// Draft proposes up to k tokens to follow history: every token of the
	// conversation, the last one sampled but not yet run by the target.
	// History only grows between calls, except after a Reset of the
	// target, when it starts again.
	Draft(history []int32, k int) (Draft, error)
}

// Draft is what a drafter proposes.
type Draft struct {
	Tokens []int32
	// Probs[i] is the distribution over the target's vocabulary that
	// Tokens[i] was drawn from; nil when the drafter picks its tokens
	// otherwise (they then count as certain, which keeps verification
	// lossless but accepts fewer at temperature > 0).
	Probs [][]float64
}

// PromptLookup drafts by finding the last N tokens earlier in the history
// (prompt and generated text) and proposing what followed their latest
// occurrence: free drafts for text that repeats its input (code edits,
// summaries, quoting). No match, no draft, and the step is a plain decode.
type PromptLookup struct {
	N int // n-gram size
}

// Draft implements Drafter.
func (l PromptLookup) Draft(history []int32, k int) (Draft, error) {
	n := l.N
	if n <= 0 || len(history) <= n || k <= 0 {
		return Draft{}, nil
	}
	tail := history[len(history)-n:]
	for start := len(history) - n - 1; start >= 0; start-- {
		if slices.Equal(history[start:start+n], tail) {
			next := history[start+n:]
			return Draft{Tokens: slices.Clone(next[:min(k, len(next))])}, nil
		}
	}
	return Draft{}, nil
}

// DraftModel drafts with a smaller model of the same vocabulary, run in its
// own session (its own KV cache) on the same kind of backend. At
// temperature > 0 it samples from its distribution under the target's
// sampling options (without the repetition penalty, which would need its
// history), and hands that distribution to the verifier.
type DraftModel struct {
	s       *Session
	sampler *sample.Sampler
	rng     *rand.Rand
	probs   [][]float64
}

// NewDraftModel prepares drafting by s for a target whose tokenizer is
// target; draft is s's tokenizer. Their vocabularies must be the same token
// list (use NewTranslatingDraft otherwise).
func NewDraftModel(s *Session, draft, target *tokenizer.Tokenizer, o sample.Options) (*DraftModel, error) {
	if err := sameVocabulary(draft, target); err != nil {
		return nil, err
	}
	o.RepeatPenalty = 1
	sampler, err := sample.New(o)
	if err != nil {
		return nil, err
	}
	s.programs.keepUpTo(MaxDraftMax + 1) // its catch-up steps vary in size as the target's do
	seed := o.Seed ^ 0xa0761d6478bd642f
	return &DraftModel{s: s, sampler: sampler, rng: rand.New(rand.NewPCG(seed, seed))}, nil
}

// sameVocabulary compares the token lists, not only their sizes: two
// vocabularies of one size can number their tokens differently.
func sameVocabulary(draft, target *tokenizer.Tokenizer) error {
	nd, nt := draft.VocabSize(), target.VocabSize()
	same := nd == nt
	for id := 0; same && id < nd; id++ {
		same = draft.Piece(int32(id)) == target.Piece(int32(id))
	}
	if same {
		return nil
	}
	return fmt.Errorf("the draft model's vocabulary (%d tokens) differs from the target's (%d tokens); add --draft-translate to translate its drafts, or use --lookup", nd, nt)
}

// Draft implements Drafter.
func (d *DraftModel) Draft(history []int32, k int) (Draft, error) {
	logits, err := d.s.catchUp(history)
	if err != nil || logits == nil {
		return Draft{}, err
	}
	vocab := d.s.cfg.Vocab
	var out Draft
	for i := range k {
		if len(d.probs) == i {
			d.probs = append(d.probs, make([]float64, vocab))
		}
		q := d.probs[i]
		d.sampler.Distribution(logits, q)
		tok := drawIndex(d.rng, q)
		out.Tokens, out.Probs = append(out.Tokens, tok), append(out.Probs, q)
		if i == k-1 || d.s.Pos() == d.s.cfg.Context {
			break
		}
		if logits, err = d.s.Step([]int32{tok}); err != nil {
			return Draft{}, err
		}
	}
	return out, nil
}

// catchUp brings the session to history, keeping the longest prefix it
// already holds and running the rest, and returns the logits after the
// last token; nil when history does not fit the session's context (the
// drafter then proposes nothing).
func (s *Session) catchUp(history []int32) ([]float32, error) {
	if len(history) > s.cfg.Context {
		return nil, nil
	}
	keep := commonPrefix(s.tokens, history)
	keep = min(keep, len(history)-1) // at least one token to run, for its logits
	if err := s.Truncate(keep); err != nil {
		return nil, err
	}
	return s.Prefill(history[keep:])
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
