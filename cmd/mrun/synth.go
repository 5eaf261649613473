package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/metalgraph/metalgraph/modelinfo"
	"github.com/metalgraph/metalgraph/models/synth"
)

func init() {
	register(&command{
		name: "synth",
		args: "--shape " + strings.Join(synth.Shapes(), "|") + " --type " + strings.Join(synth.Types(), "|") +
			" [--seed N] [--vocab-from FILE] -o OUT.gguf [--force]",
		summary: "write a GGUF model of a real shape with deterministic random weights",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var o synth.Options
			fs.StringVar(&o.Shape, "shape", "tiny", "model shape: "+strings.Join(synth.Shapes(), ", "))
			fs.StringVar(&o.Type, "type", "q4_0", "weight type: "+strings.Join(synth.Types(), ", ")+" (q4_0 stores output.weight as Q6_K)")
			fs.Int64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same file")
			fs.StringVar(&o.VocabFrom, "vocab-from", "", "copy the tokenizer of this GGUF `FILE` (default: a byte-level vocabulary)")
			out := fs.String("o", "", "output `FILE`; it must not exist (see --force)")
			force := fs.Bool("force", false, "replace OUT if it is a regular file (never a directory, device, FIFO or symlink)")
			return func(e *env, args []string) int {
				switch {
				case len(args) > 0:
					return e.usageError("unexpected argument %q", args[0])
				case *out == "":
					return e.usageError("-o OUT.gguf is required")
				case !slices.Contains(synth.Shapes(), o.Shape):
					return e.usageError("unknown shape %q (want %s)", o.Shape, strings.Join(synth.Shapes(), ", "))
				case !slices.Contains(synth.Types(), o.Type):
					return e.usageError("unknown type %q (want %s)", o.Type, strings.Join(synth.Types(), ", "))
				}
				return runSynth(e, o, *out, *force)
			}
		},
	})
}

func runSynth(e *env, o synth.Options, out string, force bool) int {
	p := newProgress(e.stderr, "synth")
	o.Progress = p.update
	start := time.Now()
	err := writeOutput(out, force, func(ctx context.Context, w io.Writer) error {
		return synth.Write(ctx, w, o)
	})
	p.end()
	if err != nil {
		return e.fail(trimPrefix(err, "synth: ")) // the package's prefix repeats the command's
	}
	st, err := os.Stat(out)
	if err != nil {
		return e.fail(err)
	}
	elapsed := time.Since(start)
	fmt.Fprintf(e.stdout, "wrote %s: %s %s seed %d, %s (%d bytes) in %.1fs (%.0f MB/s)\n",
		out, o.Shape, o.Type, o.Seed, modelinfo.FormatBytes(st.Size()), st.Size(),
		elapsed.Seconds(), float64(st.Size())/1e6/elapsed.Seconds())
	return 0
}
