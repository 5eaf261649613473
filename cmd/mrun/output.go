package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// checkedOutput is standard output as commands see it. It remembers the
// first write error (a full disk, a closed pipe) so that runWith fails a
// command that did not check its writes, instead of exiting 0 with the
// output lost, and it words that error for people.
type checkedOutput struct {
	w   io.Writer
	err error
}

func (o *checkedOutput) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // "write /dev/stdout" names no file the user chose
		}
		o.err = fmt.Errorf("writing output: %w", err)
	}
	return n, o.err
}
