package engine

import (
	"errors"
	"time"

	"github.com/metalgraph/metalgraph/tokenizer"
)

// GenerateTokens is Generate for a prompt already tokenised: ids is the
// whole text from position 0 (BOS included if wanted), not a continuation.
// The longest prefix of ids that the session's cache already holds (an
// earlier turn of the same chat) is kept and only the rest is prefilled;
// Stats.PromptTokens counts what was prefilled. At least the last token is
// always run, for its logits.
func GenerateTokens(s *Session, tok *tokenizer.Tokenizer, ids []int32, o GenerateOptions) (Stats, error) {
	start := time.Now()
	if len(ids) == 0 {
		return Stats{}, errors.New("the prompt has no tokens")
	}
	keep := s.CachedPrefix(ids)
	if keep == len(ids) {
		keep--
	}
	// Positions past keep hold stale entries; the prefill overwrites them
	// before any attention reads them.
	s.tokens, s.pending = s.tokens[:keep], nil
	return generate(s, tok, ids[keep:], o, start)
}

// CachedPrefix is how many leading tokens of ids the cache already holds
// at the same positions: what GenerateTokens would not prefill again.
func (s *Session) CachedPrefix(ids []int32) int {
	n := min(len(s.tokens), len(ids))
	for i := range n {
		if s.tokens[i] != ids[i] {
			return i
		}
	}
	return n
}
