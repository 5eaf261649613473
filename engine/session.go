package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/plan"
)

// Options configure a session.
type Options struct {
	// Context is the number of positions the KV cache holds (0: the
	// model's context, capped at DefaultContext).
	Context int
	// PrefillChunk is the largest step prefill runs (0: DefaultPrefillChunk).
	PrefillChunk int
	// Passes adjusts the optimisation pipeline (e.g. to disable a pass).
	Passes passes.Options
	// MemoryLimit is the most bytes the KV cache and activations may take
	// (0: the memory available, read on Linux; elsewhere no limit).
	MemoryLimit int64
}

const (
	// DefaultContext caps the KV cache when none is asked for: a 7B model's
	// 32768-position F32 cache would take 8 GiB.
	DefaultContext = 4096
	// DefaultPrefillChunk is the prefill step size: large enough for the
	// tiled kernels to amortise weight reads, small enough that the
	// activation arena stays modest.
	DefaultPrefillChunk = 64
)

// Session runs one conversation: it owns the tokens in the KV cache and
// compiles (and caches, a few sizes at most) one program per step size.
type Session struct {
	model    *mistral.Model
	cfg      mistral.Config
	backend  Backend
	opts     Options
	programs programCache
	// tokens holds the token at each position of the cache: its length is
	// the position, the cache's valid length.
	tokens []int32
	// pending is the token Generate sampled from the last step's logits and
	// did not feed (no one may need the step); the next Generate feeds it
	// first so that the conversation keeps every token.
	pending []int32
}

// NewSession prepares a session of model m on backend b.
func NewSession(m *mistral.Model, b Backend, o Options) (*Session, error) {
	cfg := m.Config
	switch {
	case o.Context < 0:
		return nil, fmt.Errorf("context %d must be positive", o.Context)
	case o.Context == 0:
		o.Context = min(cfg.Context, DefaultContext)
	case o.Context > cfg.Context:
		return nil, fmt.Errorf("context %d exceeds the model's trained context of %d", o.Context, cfg.Context)
	}
	cfg.Context = o.Context
	if o.PrefillChunk <= 0 {
		o.PrefillChunk = DefaultPrefillChunk
	}
	o.PrefillChunk = min(o.PrefillChunk, cfg.Context)
	return &Session{model: m, cfg: cfg, backend: b, opts: o}, nil
}

// Config is the model configuration the session runs (its Context is the
// session's).
func (s *Session) Config() mistral.Config { return s.cfg }

// Pos is the number of positions already in the cache.
func (s *Session) Pos() int { return len(s.tokens) }

// Tokens returns a copy of the tokens in the cache, one per position.
func (s *Session) Tokens() []int32 { return slices.Clone(s.tokens) }

// Reset starts a new conversation.
func (s *Session) Reset() {
	s.tokens, s.pending = s.tokens[:0], nil
	s.backend.ResetKV()
}

// Truncate rolls the session back to pos positions, dropping the tokens
// after it: speculative decoding runs drafted tokens and keeps only those
// the target accepts. The cache entries past pos stay but are never read:
// a step attends only to the positions before its own, and the next step
// at pos overwrites them. The pending token is dropped with them.
func (s *Session) Truncate(pos int) error {
	if pos < 0 || pos > s.Pos() {
		return fmt.Errorf("cannot truncate to position %d: the session holds %d", pos, s.Pos())
	}
	s.tokens, s.pending = s.tokens[:pos], nil
	return nil
}

// Plan builds the plan of a step of n tokens.
func (s *Session) Plan(n int) (*plan.Plan, error) {
	g, err := mistral.Build(s.cfg, s.model.Weights, n)
	if err != nil {
		return nil, err
	}
	res, err := passes.Run(g, passes.Target{Weights: s.model.Weights, WeightsSize: s.model.File.Size()}, s.opts.Passes)
	if err != nil {
		return nil, err
	}
	if res.Plan == nil {
		return nil, fmt.Errorf("the pass pipeline produced no plan")
	}
	return res.Plan, nil
}

func (s *Session) program(n int) (Program, error) {
	if p, ok := s.programs.get(n); ok {
		return p, nil
	}
	pl, err := s.Plan(n)
	if err != nil {
		return nil, err
	}
	if err := s.checkMemory(pl); err != nil {
		return nil, err
	}
	prog, err := s.backend.Compile(pl)
	if err != nil {
		return nil, err
	}
	s.programs.put(n, prog)
	return prog, nil
}

// CheckFits builds the plan of a step of n tokens and checks that its
// buffers (the KV cache among them) fit in memory, without compiling it:
// a caller can refuse a context too large before it reads the weights in.
func (s *Session) CheckFits(n int) error {
	pl, err := s.Plan(n)
	if err != nil {
		return err
	}
	return s.checkMemory(pl)
}

// Warm compiles the programs for the given step sizes ahead of time.
func (s *Session) Warm(sizes ...int) error {
	sort.Ints(sizes)
	for _, n := range sizes {
		if _, err := s.program(n); err != nil {
			return err
		}
	}
	return nil
}

// ErrContextFull is returned when a step would pass the end of the cache.
type ErrContextFull struct {
	Pos, N, Context int
}

func (e *ErrContextFull) Error() string {
	return fmt.Sprintf("context full: %d tokens at position %d exceed the context of %d tokens (raise --ctx)", e.N, e.Pos, e.Context)
}

// Step runs tokens as one step at the current position and advances it.
// It returns the logits of every token of the step; those of the last are
// checked to be finite. A step that fails leaves the session as it was.
func (s *Session) Step(tokens []int32) ([]float32, error) {
	return s.step(tokens, false)
}

// step is Step; with lastOnly it returns the last token's logits alone,
// computed alone where the program can (LastRunner).
func (s *Session) step(tokens []int32, lastOnly bool) ([]float32, error) {
	n, pos := len(tokens), s.Pos()
	if n == 0 {
		return nil, errors.New("empty step: no tokens to run")
	}
	if pos+n > s.cfg.Context {
		return nil, &ErrContextFull{Pos: pos, N: n, Context: s.cfg.Context}
	}
	prog, err := s.program(n)
	if err != nil {
		return nil, err
	}
	var logits []float32
	if lr, ok := prog.(LastRunner); ok && lastOnly {
		logits, err = lr.RunLast(tokens, pos)
	} else if logits, err = prog.Run(tokens, pos); err == nil && lastOnly {
		logits = logits[(n-1)*s.cfg.Vocab:]
	}
	if err != nil {
		return nil, err
	}
	if err := checkFinite(logits[len(logits)-s.cfg.Vocab:], pos+n-1); err != nil {
		return nil, err
	}
	s.tokens = append(s.tokens, tokens...)
	s.pending = nil
	return logits, nil
}

// checkFinite refuses a row of logits with a NaN or an infinity: sampling
// from it prints empty or repeated text and looks like success, and only
// corrupt weights (or a broken kernel) produce one.
func checkFinite(row []float32, pos int) error {
	for _, v := range row {
		if v-v == 0 { // false only for NaN and ±Inf: one cheap test per logit
			continue
		}
		what := "NaN"
		if math.IsInf(float64(v), 0) {
			what = fmt.Sprintf("%+g", v)
		}
		return fmt.Errorf("engine: logits at position %d are not finite (%s); the model's weights may be corrupt (try --check-tensors)", pos, what)
	}
	return nil
}

// Prefill runs a prompt in chunks of at most PrefillChunk tokens and
// returns the logits of its last token. If a chunk fails, the chunks
// before it are undone: the session is where it was before the call (the
// cache entries they wrote lie past the position, to be overwritten).
func (s *Session) Prefill(tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("nothing to prefill: the prompt has no tokens")
	}
	start := s.Pos()
	if start+len(tokens) > s.cfg.Context {
		return nil, &ErrContextFull{Pos: start, N: len(tokens), Context: s.cfg.Context}
	}
	pending := s.pending
	var logits []float32
	for rest := tokens; len(rest) > 0; {
		n := min(len(rest), s.opts.PrefillChunk)
		out, err := s.step(rest[:n], true)
		if err != nil {
			s.tokens, s.pending = s.tokens[:start], pending
			return nil, err
		}
		logits = out
		rest = rest[n:]
	}
	return logits, nil
}
