package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	var opts Options
	flag.BoolVar(&opts.Tests, "test", true, "also check the matched packages' _test.go files")
	flag.BoolVar(&opts.Std, "std", false, "also check and report the standard library's function bodies")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./tools/darwincheck [flags] [packages...]  (default ./...)")
		flag.PrintDefaults()
	}
	flag.Parse()
	os.Exit(run(flag.Args(), opts, os.Stdout, os.Stderr))
}

// run checks the packages matched by patterns from the current directory,
// prints the outcome and returns the exit status: 0 clean, 1 problems in the
// code, 2 the checker itself failed.
func run(patterns []string, opts Options, stdout, stderr io.Writer) int {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "darwincheck:", err)
		return 2
	}
	res, err := Check(wd, patterns, opts)
	if err != nil {
		fmt.Fprintln(stderr, "darwincheck:", err)
		return 2
	}
	for _, d := range res.Diagnostics {
		if rel, err := filepath.Rel(wd, d.Pos.Filename); err == nil && filepath.IsLocal(rel) {
			d.Pos.Filename = rel
		}
		fmt.Fprintln(stdout, d)
	}
	if len(res.Diagnostics) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "darwincheck: %d packages checked (%d from this module)\n", res.Packages, res.ModulePackages)
	return 0
}
