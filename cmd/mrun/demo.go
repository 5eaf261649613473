package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/models/synth"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/sample"
)

func init() {
	register(&command{
		name:    "demo",
		args:    "[-n N] [--threads N] [--backend auto|cpu|metal|cuda]",
		summary: "synthesise a tiny Mistral-shaped model, show what the passes do, generate and print tokens/s",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			n := fs.Int("n", 48, "tokens to generate")
			threads := fs.Int("threads", 0, "CPU threads (0 = all cores)")
			backend := fs.String("backend", "auto", "backend: auto, cpu or metal")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q", args[0])
				}
				f := runFlags{tokens: *n, threads: *threads, backend: *backend, kv: "f16",
					sampling: sample.Options{Temperature: 0}}
				f.model = "-" // openDemoModel sets it; check() wants one
				if problem := f.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				return runDemo(e, f)
			}
		},
	})
}

const demoPrompt = "Once upon a time"

func runDemo(e *env, f runFlags) int {
	o := synth.Options{Shape: "tiny", Type: "q4_0", Seed: 1}
	s, took, err := openDemoModel(e, f, o)
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	shape, _ := synth.ShapeOf(o.Shape)
	fmt.Fprintf(e.stdout, "1. synthesised a tiny Mistral-shaped model in %s: %s, Q4_0 weights with a Q6_K output (random: its text is noise)\n\n",
		took.Round(time.Millisecond), shape.Describe())

	fmt.Fprintln(e.stdout, "2. the optimisation passes on the decode step (N = 1), then its plan:")
	if err := demoPasses(e, s, 1); err != nil {
		return e.fail(err)
	}

	fmt.Fprintf(e.stdout, "\n3. greedy generation of %d tokens after %q on the %s backend:\n\n", f.tokens, demoPrompt, s.backend.Name())
	st, err := engine.Generate(s.engine, s.tok, demoPrompt, engine.GenerateOptions{
		MaxTokens: f.tokens,
		Sampling:  f.sampling,
		OnText:    func(t string) error { _, err := fmt.Fprint(e.stdout, t); return err },
	})
	fmt.Fprintln(e.stdout)
	if err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "\nprompt: %d tokens at %.1f tokens/s · generation: %d tokens at %.1f tokens/s · first token after %s\n",
		st.PromptTokens, st.PromptTPS(), st.Generated, st.GenTPS(), st.TimeToFirstToken.Round(time.Microsecond))
	fmt.Fprintln(e.stdout, "\nnext: mrun run -m MODEL.gguf -p PROMPT, mrun bench -m MODEL.gguf, mrun graph -m MODEL.gguf --passes")
	return 0
}

// openDemoModel synthesises the model o describes in a temporary directory
// and opens it, returning the time the synthesis took. The directory is
// removed once the model is mapped (the mapping keeps the data), so no
// file outlives the demo however it ends; until then SIGINT and SIGTERM
// stop the synthesis and the directory is removed too.
func openDemoModel(e *env, f runFlags, o synth.Options) (*session, time.Duration, error) {
	ctx, stop := interruptible()
	defer stop()
	dir, err := os.MkdirTemp("", "mrun-demo-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	f.model = filepath.Join(dir, "tiny-q4_0.gguf")
	start := time.Now()
	if err := synth.WriteFile(ctx, f.model, o); err != nil {
		return nil, 0, err
	}
	took := time.Since(start)
	s, err := openSession(e, f, engine.Options{})
	if err == nil && ctx.Err() != nil {
		s.Close()
		err = context.Cause(ctx)
	}
	return s, took, err
}

// demoPasses runs the pipeline on the session's step of n tokens and
// prints the pass table.
func demoPasses(e *env, s *session, n int) error {
	cfg := s.engine.Config()
	g, err := mistral.Build(cfg, s.model.Weights, n)
	if err != nil {
		return err
	}
	res, err := passes.Run(g, passes.Target{Weights: s.model.Weights, WeightsSize: s.model.File.Size()}, passes.Options{})
	if err != nil {
		return err
	}
	return passes.WriteTable(e.stdout, res)
}
