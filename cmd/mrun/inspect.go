package main

import (
	"flag"
	"fmt"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/modelinfo"
)

func init() {
	register(&command{
		name:    "inspect",
		args:    "FILE [--tensors] [--json]",
		summary: "print a GGUF model's architecture, hyperparameters, tokenizer, quantization and memory needs (exit 1 if mrun run would refuse it)",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			tensors := fs.Bool("tensors", false, "also list every tensor (name, type, shape, bytes, offset)")
			asJSON := fs.Bool("json", false, "print JSON instead of text")
			return func(e *env, args []string) int {
				if len(args) != 1 {
					return e.usageError("want one FILE, got %d arguments", len(args))
				}
				return inspect(e, args[0], *tensors, *asJSON)
			}
		},
	})
}

func inspect(e *env, path string, tensors, asJSON bool) int {
	f, err := openGGUF(path)
	if err != nil {
		return e.fail(err)
	}
	defer f.Close()
	info, err := modelinfo.Inspect(f)
	if err != nil {
		return e.fail(err)
	}
	if asJSON {
		if !tensors {
			info.Tensors = nil
		}
		err = info.WriteJSON(e.stdout)
	} else {
		err = info.WriteText(e.stdout, tensors)
	}
	if err != nil {
		return e.fail(err)
	}
	if info.Problem != "" {
		// The facts are printed; the status says mrun run would refuse it.
		return e.fail(fmt.Errorf("%s: %s", path, info.Problem))
	}
	return 0
}

// openGGUF maps a model file, or a cached model by name (see
// resolveModel). The gguf package's errors already name the problem and
// the file; its "gguf: " prefix is dropped because mrun's own prefix says
// which command failed.
func openGGUF(path string) (*gguf.File, error) {
	f, err := gguf.Open(resolveModel(path))
	if err != nil {
		return nil, trimPrefix(err, "gguf: ")
	}
	return f, nil
}
