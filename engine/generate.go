package engine

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/metalgraph/metalgraph/sample"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// GenerateOptions configure one generation.
type GenerateOptions struct {
	// MaxTokens is the most tokens to generate (must be positive).
	MaxTokens int
	Sampling  sample.Options
	// OnText receives the text as it is produced, in whole UTF-8 characters.
	// An error it returns (a closed or full output) stops generation, and
	// Generate returns that error: no point computing text nobody gets.
	OnText func(string) error
	// Speculation, when set, drafts tokens and verifies several per target
	// step; the text is the same as without (the same distribution when
	// sampling, the same tokens at temperature 0).
	Speculation *Speculation
}

// Stop reasons.
const (
	StopEOS     = "eos"     // the model ended its text
	StopLength  = "length"  // MaxTokens reached
	StopContext = "context" // the KV cache is full
)

// Stats describe one generation.
type Stats struct {
	// PromptTokens counts the tokens prefilled: the prompt's, after the
	// previous Generate's last token on a continued session.
	PromptTokens int
	Generated    int
	// TimeToFirstToken runs from the start to the first sampled token
	// (tokenising, prefill and the first sample).
	TimeToFirstToken time.Duration
	PromptTime       time.Duration // prefill
	GenTime          time.Duration // the decode steps after the first token
	StopReason       string
	Tokens           []int32 // the generated ids
	Spec             SpecStats
}

// PromptTPS is prefill speed in tokens per second.
func (s Stats) PromptTPS() float64 { return rate(s.PromptTokens, s.PromptTime) }

// GenTPS is decode speed: tokens produced by decode steps per second (the
// first token comes from the prefill and is not counted).
func (s Stats) GenTPS() float64 { return rate(s.Generated-1, s.GenTime) }

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate tokenises prompt, prefills it and decodes up to MaxTokens tokens,
// streaming text through OnText. It stops at end of text, at MaxTokens or
// when the context is full (StopReason says which). On a session that
// already holds a conversation it continues it: the prompt gets no BOS and
// follows the last token the previous Generate sampled.
func Generate(s *Session, tok *tokenizer.Tokenizer, prompt string, o GenerateOptions) (Stats, error) {
	start := time.Now()
	// Only a new conversation starts with BOS: a later prompt continues the
	// text, as llama.cpp's interactive chat tokenises its turns.
	fresh := s.Pos() == 0
	ids := tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: fresh})
	if len(ids) == 0 {
		if fresh {
			return Stats{}, fmt.Errorf("the prompt is empty and the model adds no BOS token")
		}
		return Stats{}, fmt.Errorf("the prompt is empty (a continued conversation adds no BOS token)")
	}
	return generate(s, tok, append(slices.Clone(s.pending), ids...), o, start)
}

// generate feeds ids at the session's position (the pending token, if
// any, already among them) and decodes; start is when the call began.
func generate(s *Session, tok *tokenizer.Tokenizer, ids []int32, o GenerateOptions, start time.Time) (Stats, error) {
	if o.MaxTokens <= 0 {
		return Stats{}, fmt.Errorf("the number of tokens to generate must be positive, got %d", o.MaxTokens)
	}
	sampler, err := sample.New(o.Sampling)
	if err != nil {
		return Stats{}, err
	}
	var spec *speculator
	if o.Speculation != nil {
		if spec, err = newSpeculator(s, *o.Speculation, sampler, o.Sampling.Seed); err != nil {
			return Stats{}, err
		}
	}
	st := Stats{PromptTokens: len(ids)}
	if free := s.Config().Context - s.Pos(); len(ids) > free {
		return st, fmt.Errorf("prompt of %d tokens does not fit the context of %d tokens (%d free); raise --ctx or shorten the prompt",
			len(ids), s.Config().Context, free)
	}
	for _, id := range s.tokens { // the conversation so far counts for the repetition penalty
		sampler.Accept(id)
	}
	stream := tok.NewStreamDecoder()
	for _, id := range ids {
		stream.Next(id) // so the first generated piece keeps its leading space
		sampler.Accept(id)
	}
	emit := func(text string) error {
		if o.OnText != nil && text != "" {
			return o.OnText(text)
		}
		return nil
	}
	logits, err := s.Prefill(ids)
	if err != nil {
		return st, err
	}
	st.PromptTime = time.Since(start)
	next := sampler.Sample(logits)
	st.TimeToFirstToken = time.Since(start)
	decodeStart := time.Now()
	// take emits one generated token and says why generation stops there,
	// if it does.
	take := func(id int32) (string, error) {
		if tok.IsEOG(id) {
			return StopEOS, nil
		}
		st.Generated++
		st.Tokens = append(st.Tokens, id)
		if err := emit(stream.Next(id)); err != nil {
			return "", err
		}
		if st.Generated == o.MaxTokens {
			return StopLength, nil
		}
		return "", nil
	}
	var accepted []int32 // drafts the last step accepted: run, and recorded by the sampler
	for st.StopReason == "" {
		for i, id := range accepted {
			reason, err := take(id)
			if err != nil || reason != "" {
				// End as plain decoding would: id sampled, not yet run.
				if terr := s.Truncate(s.Pos() - len(accepted) + i); terr != nil {
					return st, terr
				}
				s.pending, st.StopReason = []int32{id}, reason
				if err != nil {
					return st, err
				}
				break
			}
		}
		if st.StopReason != "" {
			break
		}
		s.pending = []int32{next} // until a step feeds it, or for the next Generate to
		if st.StopReason, err = take(next); err != nil {
			return st, err
		}
		if st.StopReason != "" {
			break
		}
		sampler.Accept(next)
		if spec != nil {
			accepted, next, err = spec.step(next, o.MaxTokens-st.Generated-1)
		} else {
			var out []float32
			if out, err = s.Step([]int32{next}); err == nil {
				next = sampler.Sample(out)
			}
		}
		var full *ErrContextFull
		if errors.As(err, &full) {
			st.StopReason = StopContext
			break
		}
		if err != nil {
			return st, err
		}
	}
	st.GenTime = time.Since(decodeStart)
	if spec != nil {
		st.Spec = spec.stats
	}
	return st, emit(stream.Flush())
}
