package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/metalgraph/metalgraph/engine"
)

// specFlags are the speculative decoding flags of run and bench.
type specFlags struct {
	draft     string
	translate bool
	lookup    bool
	ngram     int
	draftMax  int
}

// specArgs is the synopsis of the flags, for the commands' usage lines.
const specArgs = "[--draft FILE [--draft-translate] | --lookup [--lookup-ngram N]] [--draft-max K]"

func (f *specFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.draft, "draft", "", "draft model `FILE` (GGUF) for speculative decoding: a smaller model of the same vocabulary")
	fs.BoolVar(&f.translate, "draft-translate", false, "let a --draft model with another vocabulary draft: its tokens go through text into the target's")
	fs.BoolVar(&f.lookup, "lookup", false, "speculative decoding by prompt lookup: draft what followed the last n tokens earlier in the text")
	fs.IntVar(&f.ngram, "lookup-ngram", 3, "n-gram size `N` that --lookup matches")
	fs.IntVar(&f.draftMax, "draft-max", engine.DefaultDraftMax, fmt.Sprintf("most tokens drafted per step, 1..%d (adapts to the acceptance rate below it)", engine.MaxDraftMax))
}

func (f *specFlags) enabled() bool { return f.draft != "" || f.lookup }

// check validates the flags, returning a usage problem or "".
func (f *specFlags) check() string {
	switch {
	case f.draft != "" && f.lookup:
		return "--draft and --lookup exclude each other: choose one drafter"
	case f.translate && f.draft == "":
		return "--draft-translate needs --draft FILE"
	case f.ngram < 1:
		return fmt.Sprintf("--lookup-ngram %d must be ≥ 1", f.ngram)
	case f.draftMax < 1 || f.draftMax > engine.MaxDraftMax:
		return fmt.Sprintf("--draft-max %d must be between 1 and %d", f.draftMax, engine.MaxDraftMax)
	}
	return ""
}

// open prepares the drafter for target (nil when none is asked for),
// loading the draft model with the target's flags. The returned function
// closes what it opened.
func (f *specFlags) open(e *env, rf runFlags, target *session) (*engine.Speculation, func(), error) {
	spec := &engine.Speculation{DraftMax: f.draftMax}
	switch {
	case f.lookup:
		spec.Drafter = engine.PromptLookup{N: f.ngram}
		return spec, func() {}, nil
	case f.draft == "":
		return nil, func() {}, nil
	}
	rf.model, rf.ctx = f.draft, 0 // the draft's own context: drafting pauses when it is full
	d, err := openSession(e, rf, engine.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("--draft: %w", err)
	}
	if f.translate {
		spec.Drafter = engine.NewTranslatingDraft(d.engine, d.tok, target.tok)
		return spec, d.Close, nil
	}
	if spec.Drafter, err = engine.NewDraftModel(d.engine, d.tok, target.tok, rf.sampling); err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("--draft %s: %w", f.draft, err)
	}
	return spec, d.Close, nil
}

// openWithDrafter opens the target model's session and, where the flags
// ask for one, its drafter; closeAll closes both.
func (f *specFlags) openWithDrafter(e *env, rf runFlags) (s *session, spec *engine.Speculation, closeAll func(), err error) {
	if s, err = openSession(e, rf, engine.Options{}); err != nil {
		return nil, nil, nil, err
	}
	spec, closeDraft, err := f.open(e, rf, s)
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return s, spec, func() { closeDraft(); s.Close() }, nil
}

func printSpecStats(w io.Writer, st engine.SpecStats, effectiveTPS float64) {
	perStep := 0.0
	if st.TargetSteps > 0 {
		perStep = float64(st.Drafted) / float64(st.TargetSteps)
	}
	fmt.Fprintf(w, "speculative: %d drafted, %d accepted (%.1f%%) · %d target steps (%.2f drafted per step) · effective %.1f tokens/s\n",
		st.Drafted, st.Accepted, 100*st.AcceptanceRate(), st.TargetSteps, perStep, effectiveTPS)
}

// runSpecBench compares decoding prompt with the drafter against plain
// decoding (bench's --lookup / --draft mode).
func runSpecBench(e *env, f runFlags, sf specFlags, prompt string, reps int) int {
	s, spec, closeAll, err := sf.openWithDrafter(e, f)
	if err != nil {
		return e.fail(err)
	}
	defer closeAll()
	if f.seed >= 0 {
		f.sampling.Seed = uint64(f.seed)
	}
	res, err := engine.BenchSpeculative(s.engine, s.tok, prompt, engine.GenerateOptions{
		MaxTokens: f.tokens, Sampling: f.sampling, Speculation: spec}, reps)
	if err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "backend %s, %d tokens from %q, median of %d\n", s.backend.Name(), f.tokens, prompt, reps)
	fmt.Fprintf(e.stdout, "plain decode:       %8.1f tokens/s\n", res.PlainTPS)
	fmt.Fprintf(e.stdout, "speculative decode: %8.1f tokens/s (%.2fx)\n", res.EffectiveTPS, res.Speedup())
	printSpecStats(e.stdout, res.Spec, res.EffectiveTPS)
	return 0
}
