package main

import (
	"bytes"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// fullDisk fails every write as standard output does on a full disk
// (mrun ... > /dev/full).
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) {
	return 0, &fs.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.ENOSPC}
}

func TestOutputErrorsFail(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	for _, args := range [][]string{
		{"run", "-m", model, "-p", "Once upon a time", "-n", "4", "--temp", "0"},
		{"tokenize", "-m", model, "Once upon a time"},
		{"tokenize", "-m", model, "--pieces", "Once upon a time"},
		{"inspect", model},
		{"inspect", model, "--json"},
		{"graph", "-m", model},
		{"graph", "-m", model, "--passes"},
		{"bench", "-m", model, "-p", "4", "-n", "2", "--reps", "1"},
		{"help", "synth"},
		{"help"},
	} {
		var errOut bytes.Buffer
		rc := runWith(strings.NewReader(""), args, fullDisk{}, &errOut)
		assert.Equal(t, 1, rc, "%v", args)
		stderr := errOut.String()
		last := stderr[strings.LastIndex(strings.TrimSuffix(stderr, "\n"), "\n")+1:]
		assert.Equal(t, "mrun: "+args[0]+": writing output: no space left on device\n", last, "%v", args)
	}
}
