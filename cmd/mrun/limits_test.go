package main

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/shareddata"
)

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
