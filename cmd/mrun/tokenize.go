package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/metalgraph/metalgraph/modelinfo"
	"github.com/metalgraph/metalgraph/tokenizer"
)

func init() {
	register(&command{
		name:    "tokenize",
		args:    "-m FILE [--ids|--pieces] [--no-bos] [--special] TEXT|-",
		summary: "print the token ids (or id -> 'piece' lines) of TEXT, or of standard input for -",
		flags: func(fs *flag.FlagSet) func(*env, []string) int {
			var model string
			fs.StringVar(&model, "m", "", "model `FILE` whose tokenizer is used")
			fs.StringVar(&model, "model", "", "model `FILE` (same as -m)")
			ids := fs.Bool("ids", false, "print the ids on one line, space separated (the default)")
			pieces := fs.Bool("pieces", false, "print one \"id -> 'piece'\" line per token")
			noBOS := fs.Bool("no-bos", false, "do not add BOS even when the model asks for it")
			special := fs.Bool("special", false, "parse control-token texts such as <s> in the input")
			return func(e *env, args []string) int {
				switch {
				case model == "":
					return e.usageError("-m FILE is required")
				case *ids && *pieces:
					return e.usageError("--ids and --pieces exclude each other")
				case len(args) != 1:
					return e.usageError("want one TEXT argument (quote it) or - for standard input, got %d", len(args))
				}
				text := args[0]
				if text == "-" {
					var err error
					if text, err = e.readStdin(); err != nil {
						return e.fail(err)
					}
				}
				return tokenize(e, model, text, tokenizer.EncodeOptions{AddSpecial: !*noBOS, ParseSpecial: *special}, *pieces)
			}
		},
	})
}

func tokenize(e *env, model, text string, o tokenizer.EncodeOptions, pieces bool) int {
	f, err := openGGUF(model)
	if err != nil {
		return e.fail(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", model, err))
	}
	ids := tok.Encode(text, o)
	if pieces {
		for _, id := range ids {
			fmt.Fprintf(e.stdout, "%6d -> '%s'\n", id, modelinfo.Printable(tok.Piece(id)))
		}
		return 0
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	fmt.Fprintln(e.stdout, strings.Join(s, " "))
	return 0
}
