package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/metalgraph/metalgraph/modelinfo"
)

// command is one subcommand. Each lives in its own file and adds itself
// to commands from an init function.
type command struct {
	name    string
	args    string // synopsis after the name: "FILE [--tensors] [--json]"
	summary string // one line for the command list
	// flags declares the command's flags on fs and returns the function
	// that runs it with the positional arguments.
	flags func(fs *flag.FlagSet) func(e *env, args []string) int
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// env is what a command may touch: its streams.
type env struct {
	cmd    string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	stop := startProfile()
	rc := run(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(rc)
}

// run executes mrun with args (without the program name) and returns the
// exit status: 0 success, 1 failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	return runWith(os.Stdin, args, stdout, stderr)
}

func runWith(stdin io.Reader, args []string, stdout, stderr io.Writer) int {
	out := &checkedOutput{w: stdout}
	rc := dispatch(stdin, args, out, stderr)
	if rc == 0 && out.err != nil {
		name := args[0] // rc 0: a command or help ran
		if commands[name] == nil {
			name = "help"
		}
		return (&env{cmd: name, stderr: stderr}).fail(out.err)
	}
	return rc
}

func dispatch(stdin io.Reader, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(stdout)
			return 0
		}
		c, ok := commands[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "mrun: help: unknown command %q (run 'mrun help' for the list)\n", rest[0])
			return 2
		}
		commandUsage(stdout, c)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "mrun: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	e := &env{cmd: c.name, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := newFlagSet(c)
	runCmd := c.flags(fs)
	pos, err := parseInterspersed(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, c)
		return 0
	}
	if err != nil {
		return e.usageError("%v", err)
	}
	return runCmd(e, pos)
}

func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("mrun "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed as one line by the caller
	return fs
}

// parseInterspersed parses flags wherever they appear among the positional
// arguments ("mrun inspect FILE --json"); everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		consumed := len(args) - fs.NArg()
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// maxStdin bounds what a command reads from standard input: far more text
// than any context holds (32768 tokens of English are about 128 KiB), yet
// small enough that "< /dev/zero" fails at once instead of exhausting
// memory.
const maxStdin = 16 << 20

// readStdin reads all of standard input, refusing more than maxStdin bytes.
func (e *env) readStdin() (string, error) {
	b, err := io.ReadAll(io.LimitReader(e.stdin, maxStdin+1))
	if err != nil {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	if len(b) > maxStdin {
		return "", fmt.Errorf("standard input is longer than the %d MiB a prompt may have", maxStdin>>20)
	}
	return string(b), nil
}

// usageError prints one line about bad usage and returns 2.
func (e *env) usageError(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "mrun %s: %s (see 'mrun help %s')\n", e.cmd, oneLine(fmt.Sprintf(format, args...)), e.cmd)
	return 2
}

// fail prints one line naming what went wrong and returns 1.
func (e *env) fail(err error) int {
	fmt.Fprintf(e.stderr, "mrun: %s: %s\n", e.cmd, oneLine(err.Error()))
	return 1
}

// oneLine keeps an error on one line whatever its text, with what a
// terminal would act on escaped: errors may quote a model file.
func oneLine(s string) string {
	return modelinfo.Printable(strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " "))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mrun <command> [flags] [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'mrun help <command>' for a command's flags. Flags may follow the arguments.")
}

func commandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "usage: mrun %s %s\n\n%s\n", c.name, c.args, c.summary)
	fs := newFlagSet(c)
	c.flags(fs)
	fs.SetOutput(w)
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nflags:")
		fs.PrintDefaults()
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}
