package main

import (
	"flag"
	"fmt"
	"syscall"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/modelinfo"
)

func init() {
	register(&command{
		name:    "bench",
		args:    "-m FILE [-p PROMPT_TOKENS] [-n GEN_TOKENS] [--reps R] [--threads N] [--backend auto|cpu|metal] [--ctx N] [--kv f32|f16] [--check-tensors] [" + specArgs + " [--spec-prompt TEXT]]",
		summary: "measure prefill and decode speed (tokens/s, median of repetitions) and peak memory",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var f runFlags
			f.declare(fs, 32)
			promptTokens := fs.Int("p", 64, "prompt tokens to prefill")
			reps := fs.Int("reps", 3, "repetitions (the median is reported)")
			// Speculative decoding: compared with plain decoding on real text.
			var sf specFlags
			sf.declare(fs)
			specPrompt := fs.String("spec-prompt", "Once upon a time", "prompt `TEXT` of a speculative bench (--lookup or --draft)")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q", args[0])
				}
				if problem := f.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				if *promptTokens <= 0 || *reps <= 0 {
					return e.usageError("-p and --reps must be positive")
				}
				if problem := sf.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				if sf.enabled() {
					return runSpecBench(e, f, sf, *specPrompt, *reps)
				}
				return runBench(e, f, engine.BenchOptions{Prompt: *promptTokens, Gen: f.tokens, Reps: *reps})
			}
		},
	})
}

func runBench(e *env, f runFlags, o engine.BenchOptions) int {
	s, err := openSession(e, f, engine.Options{})
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	res, err := engine.Bench(s.engine, o)
	if err != nil {
		return e.fail(err)
	}
	threads := "all cores"
	if f.threads > 0 {
		threads = fmt.Sprintf("%d threads", f.threads)
	}
	fmt.Fprintf(e.stdout, "backend %s (%s), kv %s\n", s.backend.Name(), threads, f.kv)
	fmt.Fprintf(e.stdout, "prefill %4d tokens: %8.1f tokens/s\n", o.Prompt, res.PromptTPS)
	fmt.Fprintf(e.stdout, "decode  %4d tokens: %8.1f tokens/s\n", o.Gen, res.GenTPS)
	if rss := peakRSS(); rss > 0 {
		fmt.Fprintf(e.stdout, "peak RSS: %s\n", modelinfo.FormatBytes(rss))
	}
	return 0
}

// peakRSS is the process's maximum resident set size in bytes (0 if the
// platform does not say). Linux reports KiB, macOS bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if isDarwin {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}
