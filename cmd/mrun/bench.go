package main

import (
	"cmp"
	"flag"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metalgraph/metalgraph/engine"
)

func init() {
	register(&command{
		name: "bench",
		args: "-m FILE [-p N[,N...]] [-n N[,N...]] [-pg P,N] [-r R] [--threads N] [--json] [-v] [--backend auto|cpu|metal|cuda] [--ctx N] [--kv f16|f32] [--check-tensors] [--profile] [" + specArgs + " [--spec-prompt TEXT] [--temp T] [--seed N]]",
		summary: "measure prompt processing (pp) and generation (tg) speed like llama-bench: a table of tokens/s, " +
			"mean ± sd over the repetitions, then a line per pp and tg test with its mean, and the peak memory",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var b benchFlags
			b.declare(fs)
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q", args[0])
				}
				tests, problem := b.check()
				if problem != "" {
					return e.usageError("%s", problem)
				}
				if problem := b.spec.check(); problem != "" {
					return e.usageError("%s", problem)
				}
				sampling := false
				fs.Visit(func(f *flag.Flag) { sampling = sampling || f.Name == "temp" || f.Name == "seed" })
				if sampling && !b.spec.enabled() {
					return e.usageError("--temp and --seed apply only to a speculative bench (--lookup or --draft)")
				}
				if b.spec.enabled() {
					// Speculation is measured on real text against plain
					// decoding of the same text, -n tokens (its first count).
					rf := b.run
					rf.tokens = b.gens.counts[0]
					return runSpecBench(e, rf, b.spec, b.specPrompt, b.reps)
				}
				return runBench(e, b, tests)
			}
		},
	})
}

// benchFlags are bench's flags: what to measure and how to report it are
// bench's own; how to run the model are run's (benchRunFlags).
type benchFlags struct {
	run     runFlags
	prompts tokenCounts
	gens    tokenCounts
	pgs     promptGenTests
	reps    int
	json    bool
	verbose bool
	profile bool

	// Speculative decoding, compared with plain decoding on real text.
	spec       specFlags
	specPrompt string
}

// benchRunFlags are the run flags bench takes, with bench's help where it
// differs. Its -n is its own (a list), and sampling flags do not change
// speed.
var benchRunFlags = []struct{ name, usage string }{
	{"m", ""}, {"threads", ""}, {"backend", ""}, {"kv", ""}, {"check-tensors", ""},
	{"ctx", "context size in tokens (0 = the longest test's, as llama-bench sizes it)"},
	{"temp", "sampling temperature of a speculative bench (--lookup or --draft); other tests do not sample"},
	{"seed", "sampling seed of a speculative bench"},
}

func (b *benchFlags) declare(fs *flag.FlagSet) {
	runFS := flag.NewFlagSet("run", flag.ContinueOnError)
	b.run.declare(runFS, 1) // run's -n stays 1, which its check accepts; bench has its own
	for _, rf := range benchRunFlags {
		f := runFS.Lookup(rf.name)
		fs.Var(f.Value, f.Name, cmp.Or(rf.usage, f.Usage))
	}
	fs.Var(runFS.Lookup("threads").Value, "t", "alias of --threads (llama-bench's)")

	b.prompts, b.gens = tokenCounts{counts: []int{64}}, tokenCounts{counts: []int{32}}
	fs.Var(&b.prompts, "p", "prompt `TOKENS` to prefill: one pp test per count (comma-separated, repeatable); 0 = no prompt test")
	fs.Var(&b.gens, "n", "`TOKENS` to generate from an empty cache: one tg test per count (comma-separated, repeatable); 0 = no generation test")
	fs.Var(&b.pgs, "pg", "`PROMPT,GEN`: a test that prefills PROMPT tokens, then generates GEN (repeatable), like llama-bench's -pg")
	fs.IntVar(&b.reps, "r", 3, "repetitions of each test, after one warm-up run")
	fs.IntVar(&b.reps, "reps", 3, "alias of -r")
	fs.BoolVar(&b.json, "json", false, "print one JSON document (every sample) instead of the table")
	fs.BoolVar(&b.profile, "profile", false, "with --backend cuda: time every step again kernel by kernel and print each step's time by kernel (slows the tests)")
	fs.BoolVar(&b.verbose, "v", false, "print each repetition on stderr (always done when stderr is a terminal)")
	b.spec.declare(fs)
	fs.StringVar(&b.specPrompt, "spec-prompt", "Once upon a time", "prompt `TEXT` of a speculative bench (--lookup or --draft)")
}

// check validates the flags and returns the tests to run, in llama-bench's
// order (prompt tests, generation tests, then -pg's), or a usage problem.
func (b *benchFlags) check() ([]engine.BenchTest, string) {
	if problem := b.run.check(); problem != "" {
		return nil, problem
	}
	if b.reps <= 0 {
		return nil, fmt.Sprintf("-r (--reps) %d: the number of repetitions must be positive", b.reps)
	}
	if b.profile && (b.run.backend != "cuda" || b.json) {
		return nil, "--profile times CUDA kernels: it needs --backend cuda, and prints a table (no --json)"
	}
	var tests []engine.BenchTest
	for _, n := range b.prompts.counts {
		if n > 0 {
			tests = append(tests, engine.BenchTest{Prompt: n})
		}
	}
	for _, n := range b.gens.counts {
		if n > 0 {
			tests = append(tests, engine.BenchTest{Gen: n})
		}
	}
	tests = append(tests, b.pgs...)
	if len(tests) == 0 {
		return nil, "nothing to measure: -p and -n are both 0 and there is no -pg"
	}
	if t := longestTest(tests); b.run.ctx > 0 && t.Tokens() > b.run.ctx {
		return nil, fmt.Sprintf("--ctx %d is too small for test %s (%d tokens)", b.run.ctx, t.Name(), t.Tokens())
	}
	return tests, ""
}

func longestTest(tests []engine.BenchTest) engine.BenchTest {
	longest := tests[0]
	for _, t := range tests[1:] {
		if t.Tokens() > longest.Tokens() {
			longest = t
		}
	}
	return longest
}

// tokenCounts is a flag of token counts, llama-bench style: "-p 64,512";
// a repeated flag adds to the list, the first replaces the default.
type tokenCounts struct {
	counts []int
	given  bool
}

func (c *tokenCounts) String() string {
	s := make([]string, len(c.counts))
	for i, n := range c.counts {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func (c *tokenCounts) Set(s string) error {
	if !c.given {
		c.counts, c.given = nil, true
	}
	for field := range strings.SplitSeq(s, ",") {
		n, ok := tokenCount(field)
		if !ok {
			return fmt.Errorf("want token counts from 0 to %d separated by commas, such as 64,512", math.MaxInt32)
		}
		c.counts = append(c.counts, n)
	}
	return nil
}

// promptGenTests is llama-bench's -pg flag: "512,128" adds a test that
// prefills 512 tokens and then generates 128, timed as one run.
type promptGenTests []engine.BenchTest

func (p *promptGenTests) String() string {
	s := make([]string, len(*p))
	for i, t := range *p {
		s[i] = fmt.Sprintf("%d,%d", t.Prompt, t.Gen)
	}
	return strings.Join(s, " ")
}

func (p *promptGenTests) Set(s string) error {
	prompt, gen, ok := strings.Cut(s, ",")
	pn, pok := tokenCount(prompt)
	gn, gok := tokenCount(gen)
	if !ok || !pok || !gok || pn == 0 || gn == 0 {
		return fmt.Errorf("want two positive token counts, the prompt's and the generation's, such as 512,128")
	}
	*p = append(*p, engine.BenchTest{Prompt: pn, Gen: gn})
	return nil
}

// tokenCount parses one count of a list flag: 0 to MaxInt32, so that sums
// of counts cannot overflow.
func tokenCount(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil && n >= 0 && n <= math.MaxInt32
}

func runBench(e *env, b benchFlags, tests []engine.BenchTest) int {
	if b.run.ctx == 0 {
		// Like llama-bench: a cache just large enough for the longest test.
		b.run.ctx = longestTest(tests).Tokens()
	}
	if b.profile {
		b.run.cudaProfile = e.stdout // written as the session closes, after the summary
	}
	s, err := openSession(e, b.run, engine.Options{})
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	r := newBenchReport(s, b.run)
	table := r.table(tests)
	if !b.json {
		if err := table.header(e.stdout); err != nil {
			return e.fail(err)
		}
	}
	for _, t := range tests {
		res, err := engine.Bench(s.engine, t, b.reps, b.progress(e, t))
		if err != nil {
			return e.fail(err)
		}
		row := r.add(res)
		if !b.json {
			if err := table.row(e.stdout, row); err != nil {
				return e.fail(err)
			}
		}
	}
	r.PeakRSS = peakRSS()
	if b.json {
		err = r.writeJSON(e.stdout)
	} else {
		err = r.writeSummary(e.stdout)
	}
	if err != nil {
		return e.fail(err)
	}
	return 0
}

// progress returns what prints each repetition of t on stderr, when a
// person watches it or -v asks; nil otherwise.
func (b *benchFlags) progress(e *env, t engine.BenchTest) func(int, time.Duration) {
	if !b.verbose && !isTerminal(e.stderr) {
		return nil
	}
	return func(rep int, d time.Duration) {
		run := engine.BenchResult{Test: t, Samples: []time.Duration{d}}
		fmt.Fprintf(e.stderr, "bench %s: run %d/%d: %s, %.2f tokens/s\n", t.Name(), rep+1, b.reps,
			d.Round(time.Microsecond), run.MeanTPS())
	}
}

// threadsUsed is the CPU threads a --threads value gives (0 = all cores).
func threadsUsed(flag int) int {
	if flag == 0 {
		return runtime.NumCPU()
	}
	return flag
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
