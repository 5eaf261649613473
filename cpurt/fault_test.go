package cpurt

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/quant"
)

// TestTruncatedModelFileIsAnError truncates the mapped model file between
// two steps: the kernels' reads past its new end raise SIGBUS, which Run
// reports as an error instead of crashing. The first dispatch that reads
// weights (the embedding of one token) runs on the calling goroutine; a
// worker's fault is checked below on the pool itself.
func TestTruncatedModelFileIsAnError(t *testing.T) {
	src, err := os.ReadFile(shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf"))
	require.NoError(t, err)
	for _, threads := range []int{1, 2} {
		path := filepath.Join(t.TempDir(), "model.gguf")
		require.NoError(t, os.WriteFile(path, src, 0o600))
		md := openModelAt(t, path, quant.F32, threads)
		prog := md.program(t, 1)
		_, err = prog.Run([]int32{1}, 0)
		require.NoError(t, err, "the whole file runs")

		require.NoError(t, os.Truncate(path, 4096))
		for pos := 1; pos <= 2; pos++ {
			_, err = prog.Run([]int32{1}, pos)
			require.EqualError(t, err, "cpurt: reading the weights failed (the model file was truncated or changed while in use)",
				"%d threads, run %d", threads, pos)
		}
		if threads == 1 {
			continue
		}
		// The caller's chunk waits until a worker has taken one, so the
		// worker surely reads past the end.
		data := md.m.File.Bytes()
		var workerStarted sync.Once
		started := make(chan struct{})
		var sink atomic.Int32
		err = md.rt.pool.run(2, 1, func(w, lo, hi int) {
			if w == 0 {
				<-started
				return
			}
			workerStarted.Do(func() { close(started) })
			sink.Add(int32(data[len(data)-1]))
		})
		require.Equal(t, errWeightsFault, err)
	}
}
