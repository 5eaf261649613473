package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// endless is standard input that never ends (like /dev/zero), counting
// the bytes read from it.
type endless struct{ read int }

func (r *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	r.read += len(p)
	return len(p), nil
}

func TestStdinIsBounded(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-m", "model.gguf", "-p", "-"},
		{"tokenize", "-m", "model.gguf", "-"},
	} {
		in := &endless{}
		var out, errOut bytes.Buffer
		rc := runWith(io.LimitReader(in, 17<<20), args, &out, &errOut)
		assert.Equal(t, 1, rc, "%v", args)
		assert.Empty(t, out.String())
		requireOneLine(t, errOut.String())
		assert.Equal(t, "mrun: "+args[0]+": standard input is longer than the 16 MiB a prompt may have\n", errOut.String())
		assert.LessOrEqual(t, in.read, maxStdin+1, "reading stops at the limit")
	}

	// Exactly the limit is read whole.
	e := &env{stdin: io.LimitReader(&endless{}, maxStdin)}
	text, err := e.readStdin()
	require.NoError(t, err)
	assert.Len(t, text, maxStdin)
}

func TestThreadsAreBounded(t *testing.T) {
	limit := cpurt.MaxThreads()
	for _, n := range []int{-1, limit + 1, 1_000_000} {
		want := fmt.Sprintf("--threads %d: must be between 0 (all %d cores) and %d (16 per core)", n, runtime.NumCPU(), limit)
		for _, args := range [][]string{
			{"run", "-m", "model.gguf", "-p", "hi"},
			{"bench", "-m", "model.gguf"},
			{"demo"},
		} {
			rc, out, errOut := mrun(t, "", append(args, "--threads", strconv.Itoa(n))...)
			assert.Equal(t, 2, rc, "%v", args)
			assert.Empty(t, out)
			requireOneLine(t, errOut)
			assert.Contains(t, errOut, "mrun "+args[0]+": "+want)
		}
	}

	model := shareddata.Path(t, "models", "stories260K.gguf")
	for _, n := range []int{0, limit} {
		rc, _, errOut := mrun(t, "", "run", "-m", model, "-p", "Once", "-n", "2", "--temp", "0", "--threads", strconv.Itoa(n))
		assert.Equal(t, 0, rc, errOut)
		assert.Contains(t, errOut, "generated: 2 tokens")
	}
}
