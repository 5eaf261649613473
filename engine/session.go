package engine

import (
	"fmt"
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

// Session runs one conversation: it owns the position in the KV cache and
// compiles (and caches) one program per step size.
type Session struct {
	model    *mistral.Model
	cfg      mistral.Config
	backend  Backend
	opts     Options
	programs map[int]Program
	plans    map[int]*plan.Plan
	pos      int
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
	return &Session{model: m, cfg: cfg, backend: b, opts: o, programs: map[int]Program{}, plans: map[int]*plan.Plan{}}, nil
}

// Config is the model configuration the session runs (its Context is the
// session's).
func (s *Session) Config() mistral.Config { return s.cfg }

// Pos is the number of positions already in the cache.
func (s *Session) Pos() int { return s.pos }

// Reset starts a new conversation.
func (s *Session) Reset() {
	s.pos = 0
	s.backend.ResetKV()
}

// Plan returns (building if needed) the plan of a step of n tokens.
func (s *Session) Plan(n int) (*plan.Plan, error) {
	if p, ok := s.plans[n]; ok {
		return p, nil
	}
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
	s.plans[n] = res.Plan
	return res.Plan, nil
}

func (s *Session) program(n int) (Program, error) {
	if p, ok := s.programs[n]; ok {
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
	s.programs[n] = prog
	return prog, nil
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
// It returns the logits of every token of the step.
func (s *Session) Step(tokens []int32) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("empty step")
	}
	if s.pos+n > s.cfg.Context {
		return nil, &ErrContextFull{Pos: s.pos, N: n, Context: s.cfg.Context}
	}
	prog, err := s.program(n)
	if err != nil {
		return nil, err
	}
	logits, err := prog.Run(tokens, s.pos)
	if err != nil {
		return nil, err
	}
	s.pos += n
	return logits, nil
}

// Prefill runs a prompt in chunks of at most PrefillChunk tokens and
// returns the logits of its last token.
func (s *Session) Prefill(tokens []int32) ([]float32, error) {
	if s.pos+len(tokens) > s.cfg.Context {
		return nil, &ErrContextFull{Pos: s.pos, N: len(tokens), Context: s.cfg.Context}
	}
	var logits []float32
	for len(tokens) > 0 {
		n := min(len(tokens), s.opts.PrefillChunk)
		out, err := s.Step(tokens[:n])
		if err != nil {
			return nil, err
		}
		logits = out[(n-1)*s.cfg.Vocab:]
		tokens = tokens[n:]
	}
	return logits, nil
}
