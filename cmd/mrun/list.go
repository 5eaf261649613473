package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/metalgraph/metalgraph/modelcache"
	"github.com/metalgraph/metalgraph/modelinfo"
)

func init() {
	register(&command{
		name:    "list",
		args:    "[--cache DIR]",
		summary: "list the models in the cache (names that -m accepts)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			cacheDir := declareCache(fs)
			return func(e *env, args []string) int {
				if len(args) > 0 {
					return e.usageError("unexpected argument %q", args[0])
				}
				c, err := openCache(*cacheDir)
				if err != nil {
					return e.fail(err)
				}
				entries, err := c.List()
				if err != nil {
					return e.fail(err)
				}
				if len(entries) == 0 {
					fmt.Fprintf(e.stderr, "no models in %s (get one with 'mrun pull OWNER/REPO/FILE.gguf')\n", c.Dir)
					return 0
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSIZE")
				for _, m := range entries {
					fmt.Fprintf(tw, "%s\t%s\n", modelinfo.Printable(m.Name), modelinfo.FormatBytes(m.Size))
				}
				tw.Flush()
				return 0
			}
		},
	})
}

func declareCache(fs *flag.FlagSet) *string {
	return fs.String("cache", "", "model cache `DIR` (default $"+modelcache.EnvDir+", else $XDG_CACHE_HOME/metalgraph)")
}

func openCache(dir string) (modelcache.Cache, error) {
	if dir != "" {
		return modelcache.Cache{Dir: dir}, nil
	}
	return modelcache.Default()
}

// resolveModel maps -m to a file: the path itself when something is
// there, else the cached model of that name (OWNER/REPO/FILE.gguf), else
// the path unchanged for the error to name.
func resolveModel(name string) string {
	if _, err := os.Lstat(name); err == nil {
		return name
	}
	if c, err := modelcache.Default(); err == nil {
		if p, ok := c.Lookup(name); ok {
			return p
		}
	}
	return name
}
