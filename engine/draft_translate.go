package engine

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/metalgraph/metalgraph/sample"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// lookBehind is how many of the target's last tokens translation may
// re-tokenise with the drafted text: enough to reach the start of the
// current word, whose tokens may merge with the draft's first characters.
const lookBehind = 8

// TranslatingDraft drafts with a model whose tokenizer differs from the
// target's: the conversation becomes text and is tokenised for the draft,
// the draft continues it greedily, and its tokens become text again and
// are tokenised with the target's vocabulary. Token boundaries line up
// through a look-behind window: the text from the start of the target's
// current word (a token that begins with the space mark, so never a
// byte-fallback piece) up to the draft's end is tokenised in one go, and
// the tokens after those the target already holds are the drafts. When the
// window's own tokens come out differently (the draft's text merged into
// the target's last token), nothing is drafted that round. The drafts
// carry no probabilities: the verifier counts them as certain.
type TranslatingDraft struct {
	s             *Session
	draft, target *tokenizer.Tokenizer
	greedy        *sample.Sampler
	drafted       []int32
}

// NewTranslatingDraft prepares drafting by s, whose tokenizer is draft, for
// a target whose tokenizer is target.
func NewTranslatingDraft(s *Session, draft, target *tokenizer.Tokenizer) *TranslatingDraft {
	greedy, _ := sample.New(sample.Options{}) // the zero options are valid: greedy
	s.programs.keepUpTo(MaxDraftMax + 1)      // its catch-up steps vary in size
	return &TranslatingDraft{s: s, draft: draft, target: target, greedy: greedy}
}

// Draft implements Drafter.
func (d *TranslatingDraft) Draft(history []int32, k int) (Draft, error) {
	start := d.windowStart(history)
	if start < 0 || k <= 0 {
		return Draft{}, nil
	}
	text := d.target.Decode(history)
	context := d.draft.Encode(text, tokenizer.EncodeOptions{AddSpecial: true})
	if len(context) == 0 {
		return Draft{}, nil
	}
	logits, err := d.s.catchUp(context)
	if err != nil || logits == nil {
		return Draft{}, err
	}
	// k draft tokens give about k target tokens when the vocabularies are
	// alike; the surplus is cut below.
	d.drafted = d.drafted[:0]
	for {
		tok := d.greedy.Sample(logits)
		d.drafted = append(d.drafted, tok)
		if len(d.drafted) == k || d.s.Pos() == d.s.cfg.Context {
			break
		}
		if logits, err = d.s.Step([]int32{tok}); err != nil {
			return Draft{}, err
		}
	}
	before := d.draft.Decode(context)
	continuation := strings.TrimPrefix(d.draft.Decode(slices.Concat(context, d.drafted)), before)
	window := history[start:]
	joined := validPrefix(d.target.Decode(window) + continuation)
	ids := d.target.Encode(joined, tokenizer.EncodeOptions{})
	if len(ids) <= len(window) || !slices.Equal(ids[:len(window)], window) {
		return Draft{}, nil
	}
	drafts := ids[len(window):]
	return Draft{Tokens: slices.Clone(drafts[:min(k, len(drafts))])}, nil
}

// windowStart is the index of the last token of history, at most
// lookBehind back and after the first (BOS), that starts a word; -1 if none.
func (d *TranslatingDraft) windowStart(history []int32) int {
	for i := len(history) - 1; i >= max(1, len(history)-lookBehind); i-- {
		if d.target.Type(history[i]) == tokenizer.Normal && strings.HasPrefix(d.target.Piece(history[i]), "\u2581") {
			return i
		}
	}
	return -1
}

// validPrefix drops what follows the first invalid UTF-8 byte: a draft that
// ends inside a character split over byte-fallback tokens is cut back to
// the last whole character, so that those bytes are never re-tokenised
// apart.
func validPrefix(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return s[:i]
		}
		i += n
	}
	return s
}
