// Package safefile writes files so that a failed or interrupted write
// leaves the destination as it was, and so that writing cannot destroy
// what was never meant to be replaced.
//
//	err := safefile.Write("model.gguf", replace, func(w io.Writer) error {
//		return synth.Write(ctx, w, o)
//	})
//
// Before fill runs, the destination is checked with Lstat (Check):
// anything that is not a regular file — a directory, a device node such
// as /dev/null, a FIFO, a socket, a symbolic link — is refused even with
// replace, because renaming over it would silently turn it into a regular
// file; an existing regular file is refused unless replace is set; a
// missing parent directory is an error. So bad output paths fail at once,
// not after minutes of work.
//
// The content goes to a temporary file beside the destination (created
// with O_EXCL, so it is never someone else's file), which is synced, given
// mode 0644 or the replaced file's permissions, checked once more and
// renamed over the destination only when fill succeeds; on any error it is
// removed. Errors name the destination, never the temporary file.
//
// Signals are the caller's business: a command that wants an interrupt to
// remove the temporary file diverts SIGINT and SIGTERM
// (signal.NotifyContext) while Write runs and makes fill return when its
// context is cancelled.
package safefile
