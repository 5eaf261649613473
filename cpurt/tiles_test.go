package cpurt

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
)

// Each Q4_0 weight is repacked once, whichever programs and runtimes bind
// it, and its original bytes are released once; every other weight stays
// where it is.
func TestQ4_0WeightsAreTiledOnceAndReleased(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "derived", "synth-d256-gqa-Q4_0.gguf"))
	require.NoError(t, err)
	defer m.Close()
	weights := m.File.Bytes()
	released := map[uintptr]int{}
	var releasedBytes int
	store := NewTileStore(func(b []byte) {
		off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(weights)))
		require.LessOrEqual(t, int(off)+len(b), len(weights), "released bytes outside the weights")
		released[off]++
		releasedBytes += len(b)
	})
	// Two runtimes over the model, as a server's slots: one set of tiles.
	for range 2 {
		rt, err := New(weights, Options{Threads: 2, Tiles: store})
		require.NoError(t, err)
		defer rt.Close()
		md := &model{m: m, cfg: m.Config, rt: rt, progs: map[int]*Program{}}
		for _, n := range []int{1, 5, 12} {
			md.program(t, n)
		}
	}
	var q4_0Bytes int
	for _, tn := range m.File.Tensors {
		if tn.Type == quant.Q4_0 && len(tn.Dims) == 2 && tn.Name != "token_embd.weight" {
			b, _ := quant.RowBytes(quant.Q4_0, int64(tn.Dims[0]))
			q4_0Bytes += int(b) * int(tn.Dims[1])
		}
	}
	require.NotEmpty(t, released)
	for off, count := range released {
		require.Equal(t, 1, count, "weight at %d released more than once", off)
	}
	require.Equal(t, q4_0Bytes, releasedBytes, "every Q4_0 mat-vec weight, and nothing else, is tiled")
	require.Len(t, store.tiles, len(released))
}
