package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/metalgraph/metalgraph/modelcache"
)

func init() {
	register(&command{
		name:    "pull",
		args:    "OWNER/REPO/FILE.gguf [--base-url URL] [--cache DIR]",
		summary: "download a GGUF model from Hugging Face into the cache (resumable, sha256-checked)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			cacheDir := declareCache(fs)
			base := fs.String("base-url", "", "hub `URL` (default $HF_ENDPOINT, else "+modelcache.DefaultBaseURL+")")
			return func(e *env, args []string) int {
				if len(args) != 1 {
					return e.usageError("want one model name, OWNER/REPO/FILE.gguf")
				}
				ref, err := modelcache.ParseRef(args[0])
				if err != nil {
					return e.usageError("%v", err)
				}
				c, err := openCache(*cacheDir)
				if err != nil {
					return e.fail(err)
				}
				if *base == "" {
					*base = os.Getenv("HF_ENDPOINT")
				}
				return pull(e, c, ref, *base)
			}
		},
	})
}

func pull(e *env, c modelcache.Cache, ref modelcache.Ref, base string) int {
	ctx, stop := interruptible()
	defer stop()
	p := newProgress(e.stderr, "pulling "+ref.String())
	res, err := modelcache.Puller{BaseURL: base, Progress: p.update}.Pull(ctx, c, ref)
	p.end()
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("interrupted; run pull again to resume")
		}
		return e.fail(err)
	}
	switch {
	case !res.Downloaded:
		fmt.Fprintf(e.stderr, "%s is already cached\n", ref)
	case res.Verified:
		fmt.Fprintf(e.stderr, "%s: sha256 verified\n", ref)
	default:
		fmt.Fprintf(e.stderr, "warning: %s: the hub gave no sha256, so the file is not verified\n", ref)
	}
	fmt.Fprintln(e.stdout, res.Path)
	return 0
}
