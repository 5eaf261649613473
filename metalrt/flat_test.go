package metalrt

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/quant"
)

// replayFlat issues a FlatList to enc as the C replay sends it to Metal:
// per span a command buffer and its encoder, the entries, end and commit.
// Recording it and the CommandList it came from must give the same text.
func replayFlat(t *testing.T, f *FlatList, enc Encoder) {
	t.Helper()
	for cb, s := range f.Spans {
		enc.Begin(cb)
		for _, e := range f.Entries[s.Start:s.End] {
			switch e.Op {
			case FlatPipeline:
				enc.SetPipeline(f.Pipelines[e.Object])
			case FlatBuffer:
				enc.SetBuffer(f.Buffers[e.Object], int64(e.Offset), int(e.Index))
			case FlatBytes:
				enc.SetBytes(f.Params[e.Offset:e.Offset+uint64(e.Length)], int(e.Index))
			case FlatThreadgroupMemory:
				enc.SetThreadgroupMemory(int(e.Length), int(e.Index))
			case FlatBarrier:
				enc.Barrier()
			case FlatDispatch:
				var g, th [3]int
				for k := range 3 {
					g[k], th[k] = int(e.Groups[k]), int(e.Threads[k])
				}
				enc.Dispatch(g, th)
			default:
				t.Fatalf("entry %+v: unknown op", e)
			}
		}
		enc.End()
		enc.Commit(cb)
	}
}

// checkFlatMatches flattens l and records the flat replay. Command buffers are
// numbered by commit order, the plan's empty ones skipped, so the
// recording of l is renumbered the same way before comparing.
func checkFlatMatches(t *testing.T, l *CommandList) *FlatList {
	t.Helper()
	f, err := l.Flatten()
	require.NoError(t, err)
	var want, got strings.Builder
	l.Replay(renumbered{Recorder{W: &want}, new(int)})
	replayFlat(t, f, Recorder{W: &got})
	require.Equal(t, want.String(), got.String())
	assert.Len(t, f.Spans, l.CommandBuffers())
	assert.Equal(t, l.ScratchBytes(), f.Scratch)
	return f
}

// renumbered numbers command buffers 0, 1, 2... in the order they begin.
type renumbered struct {
	Recorder
	next *int
}

func (r renumbered) Begin(int)  { r.Recorder.Begin(*r.next) }
func (r renumbered) Commit(int) { r.Recorder.Commit(*r.next); *r.next++ }

func TestFlattenHandPlan(t *testing.T) {
	l, err := NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	f := checkFlatMatches(t, l)
	assert.Equal(t, []Span{{0, 19}, {19, 26}}, f.Spans)
	assert.Equal(t, []string{"rmsnorm", "matvec_f32", "matmul_q4_0"}, f.Pipelines)
	assert.Equal(t, []BufferRef{{Kind: 4}, {Kind: 2}, {Kind: 2, Window: 1}}, f.Buffers, "arena, weights[0], weights[1]")
	assert.Equal(t, 4*12, len(f.Params), "four parameter structs of three words")
	assert.Equal(t, FlatEntry{Op: FlatBuffer, Index: 1, Object: 1, Offset: 64}, f.Entries[2])
	assert.Equal(t, FlatEntry{Op: FlatBytes, Index: 3, Offset: 12, Length: 12}, f.Entries[11])
	assert.Equal(t, FlatEntry{Op: FlatDispatch, Groups: [3]uint32{1, 1, 1}, Threads: [3]uint32{256, 1, 1}}, f.Entries[18], "the mat-vec's rows fit one threadgroup")
	assert.Equal(t, uintptr(48), unsafe.Sizeof(FlatEntry{}), "the size of the C struct mg_entry")
}

func TestFlattenOpCases(t *testing.T) {
	cases, weights := opcases.All()
	for _, c := range cases {
		cov, err := Cover(int64(len(weights)), page, 1<<20, Extents(c.Plan))
		require.NoError(t, err, c.Name)
		l, err := NewCommandList(c.Plan, cov)
		require.NoError(t, err, c.Name)
		checkFlatMatches(t, l)
	}
}

// A multi-token mat-vec of N tokens binds the pipeline of its N, in every
// form, and asks the runtime for that pipeline alone.
func TestFlattenNamesPipelinePerTokens(t *testing.T) {
	for _, fam := range []string{"mtmatvec", "mtmatvec@acc", "mtmatvec@qkv", "mtmatvec@gate_up"} {
		for n := 1; n <= mtmatvecMaxN; n++ {
			w := &opcases.Weights{}
			c := opcases.Mat(w, fmt.Sprintf("%s/n=%d", fam, n), fam, quant.Q4_0, 64, 256, n)
			weights := w.Finish([]opcases.Case{c})
			cov, err := Cover(int64(len(weights)), page, 1<<20, Extents(c.Plan))
			require.NoError(t, err, c.Name)
			l, err := NewCommandList(c.Plan, cov)
			require.NoError(t, err, c.Name)
			f := checkFlatMatches(t, l)
			want := fmt.Sprintf("%s_n%d", c.Plan.Dispatches()[0].Kernel, n)
			assert.Equal(t, []string{want}, f.Pipelines, c.Name)
			assert.Equal(t, []string{want}, l.Pipelines(), c.Name)
			assert.Equal(t, FlatEntry{Op: FlatPipeline}, f.Entries[0], c.Name)
		}
	}
}

func TestFlattenRefusesOversizedDispatch(t *testing.T) {
	l := &CommandList{cmds: []command{{op: opBegin}, {op: opDispatch, groups: [3]int{1 << 32, 1, 1}, threads: [3]int{32, 1, 1}}}}
	_, err := l.Flatten()
	require.ErrorContains(t, err, "does not fit 32-bit sizes")
}
