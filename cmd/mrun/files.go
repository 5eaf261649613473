package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/metalgraph/metalgraph/internal/safefile"
)

// interruptible diverts SIGINT and SIGTERM to the returned context until
// stop is called, so that a command writing a file stops and removes its
// temporary file instead of being killed with it left behind. Commands use
// it only around such work; elsewhere an interrupt ends mrun at once.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// checkOutput says whether mrun may write path (see safefile.Check).
func checkOutput(path string, force bool) error {
	return forceHint(safefile.Check(path, force))
}

// writeOutput writes what fill writes to path through safefile, so path is
// checked before fill runs and left as it was on any error. SIGINT and
// SIGTERM cancel fill's context meanwhile.
func writeOutput(path string, force bool, fill func(ctx context.Context, w io.Writer) error) error {
	ctx, stop := interruptible()
	defer stop()
	err := safefile.Write(path, force, func(w io.Writer) error {
		if err := fill(ctx, w); err != nil {
			return err
		}
		return context.Cause(ctx) // a signal while a fill that does not watch ctx ran
	})
	switch {
	case ctx.Err() == nil:
		return forceHint(err)
	case err != nil:
		return fmt.Errorf("%w: nothing written to %s", context.Cause(ctx), path)
	}
	return context.Cause(ctx) // the signal came after the rename: path is written
}

// forceHint says how to replace an existing file.
func forceHint(err error) error {
	if errors.Is(err, safefile.ErrExists) {
		return fmt.Errorf("%w (--force replaces it)", err)
	}
	return err
}

// trimPrefix drops a library's "pkg: " prefix from err's text where
// mrun's own "mrun: CMD: " already says as much, keeping err's chain.
func trimPrefix(err error, prefix string) error {
	if err == nil || !strings.HasPrefix(err.Error(), prefix) {
		return err
	}
	return &trimmedError{text: strings.TrimPrefix(err.Error(), prefix), err: err}
}

type trimmedError struct {
	text string
	err  error
}

func (t *trimmedError) Error() string { return t.text }
func (t *trimmedError) Unwrap() error { return t.err }
