// Command mrun runs and examines GGUF models.
//
//	mrun inspect model.gguf [--tensors] [--json]
//	mrun tokenize -m model.gguf [--pieces] [--no-bos] [--special] "Once upon a time"
//	mrun synth --shape mistral-7b --type q4_0 --seed 1 -o /tmp/m7b-q4_0.gguf [--force]
//	mrun serve -m model.gguf [--parallel 4] [--api-key KEY]   (package server)
//	mrun chat -m model.gguf                                   (one message per line)
//	mrun pull OWNER/REPO/FILE.gguf; mrun list                 (package modelcache)
//	mrun help [command]
//
// Each subcommand lives in its own file and registers itself from init
// with its synopsis, summary and flag declarations; main.go only
// dispatches. Flags use the standard flag package and may follow the
// positional arguments ("mrun inspect FILE --json"); "--" ends the flags.
//
// Exit status: 0 success, 1 failure (one line on stderr naming the
// problem, "mrun: <command>: ..."), 2 bad usage (one line, or the command
// list for an unknown command). A failed write to standard output (a full
// disk) is a failure too. Text from model files is printed with control
// characters escaped (\x1b), in reports and in error messages alike. The
// testable entry point is run(args, stdout, stderr). mrun holds flags and
// output only; the work is done by library packages (modelinfo, tokenizer,
// models/synth, ...).
//
// Commands that write files (synth -o, graph -o) check every destination
// before any work: an existing file is replaced only with --force, and
// nothing but a regular file ever is (not a directory, device, FIFO or
// symlink). They write through a temporary file beside the destination
// (internal/safefile); an interrupt (SIGINT, SIGTERM) stops them and
// removes it. demo's temporary model is removed as soon as it is mapped.
package main
