package metalrt

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/passes"
	"github.com/metalgraph/metalgraph/plan"
)

// update rewrites the golden files: go test ./metalrt -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./metalrt -update")
	if string(want) != got {
		// Name the first differing line rather than dumping megabytes.
		w, g := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range min(len(w), len(g)) {
			if w[i] != g[i] {
				t.Fatalf("%s differs at line %d:\nwant %s\ngot  %s\n(go test ./metalrt -update rewrites it)", path, i+1, w[i], g[i])
			}
		}
		t.Fatalf("%s: %d lines, got %d (go test ./metalrt -update rewrites it)", path, len(w), len(g))
	}
}

// modelPlan runs the full pass pipeline on a model for steps of n tokens.
func modelPlan(t testing.TB, m *mistral.Model, n int) *plan.Plan {
	t.Helper()
	g, err := mistral.Build(m.Config, m.Weights, n)
	require.NoError(t, err)
	res, err := passes.Run(g, passes.Target{Weights: m.Weights, WeightsSize: m.File.Size()}, passes.Options{})
	require.NoError(t, err)
	return res.Plan
}

// encodeChecked encodes p over a covering for maxLen, checks the calls
// against the plan with a simulated encoder, and returns the recording.
func encodeChecked(t *testing.T, p *plan.Plan, maxLen int64) (string, Covering) {
	t.Helper()
	cov, err := Cover(p.Buffers[plan.Weights].Size, page, maxLen, Extents(p))
	require.NoError(t, err)
	l, err := NewCommandList(p, cov)
	require.NoError(t, err)
	sim := &simEncoder{t: t, cov: cov}
	l.Replay(sim)
	sim.check(p)
	checkFlatMatches(t, l)
	var b strings.Builder
	l.Replay(Recorder{W: &b})
	return b.String(), cov
}

func TestGoldenMistral7B(t *testing.T) {
	m := testmodel.Mistral7B(t)
	for _, n := range []int{1, 5} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			p := modelPlan(t, m, n)
			rec, cov := encodeChecked(t, p, gib)
			assert.Len(t, cov, 4, "4.1 GB in 1 GiB windows")
			assert.Less(t, len(rec), 1<<20, "golden file under a MiB")
			checkGolden(t, fmt.Sprintf("mistral7b_q4_0_n%d.txt", n), fmt.Sprintf("# %s, windows %v\n%s", p.Name, cov, rec))
		})
	}
}

// TestGoldenStories uses a small real model with a small maximum buffer
// length, so that weights come from several windows.
func TestGoldenStories(t *testing.T) {
	m, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer m.Close()
	p := modelPlan(t, m, 5)
	rec, cov := encodeChecked(t, p, 256<<10)
	require.Greater(t, len(cov), 3)
	checkGolden(t, "stories260k_n5.txt", fmt.Sprintf("# %s, windows %v\n%s", p.Name, cov, rec))
}

// bound is what a simulated encoder holds at a buffer index.
type bound struct {
	buf    BufferRef
	offset int64
	bytes  []byte
}

// simEncoder follows the state a Metal compute encoder keeps (pipeline,
// what each buffer index holds, threadgroup memory) and records, for each
// dispatch, the state it runs with.
type simEncoder struct {
	t        *testing.T
	cov      Covering
	open     bool
	cb       int
	commits  []int
	pipeline string
	slots    map[int]bound
	tgmem    map[int]int
	barrier  bool
	first    bool
	runs     []simRun
}

type simRun struct {
	cb                int
	pipeline          string
	slots             map[int]bound
	tgmem             int
	barrier           bool
	groups, threads   [3]int
	firstInCommandBuf bool
}

func (s *simEncoder) Begin(cb int) {
	require.False(s.t, s.open, "begin inside an open encoder")
	s.open, s.cb, s.pipeline, s.first = true, cb, "", true
	s.slots, s.tgmem = map[int]bound{}, map[int]int{}
}

func (s *simEncoder) SetPipeline(key string) { s.inside(); s.pipeline = key }
func (s *simEncoder) SetBuffer(buf BufferRef, offset int64, index int) {
	s.inside()
	s.slots[index] = bound{buf: buf, offset: offset}
}
func (s *simEncoder) SetBytes(b []byte, index int) {
	s.inside()
	s.slots[index] = bound{bytes: slices.Clone(b)}
}
func (s *simEncoder) SetThreadgroupMemory(n, index int) { s.inside(); s.tgmem[index] = n }
func (s *simEncoder) Barrier()                          { s.inside(); s.barrier = true }
func (s *simEncoder) Dispatch(groups, threads [3]int) {
	s.inside()
	s.runs = append(s.runs, simRun{cb: s.cb, pipeline: s.pipeline, slots: clone(s.slots), tgmem: s.tgmem[0],
		barrier: s.barrier, groups: groups, threads: threads, firstInCommandBuf: s.first})
	s.barrier, s.first = false, false
}
func (s *simEncoder) End() { s.inside(); s.open = false }
func (s *simEncoder) Commit(cb int) {
	require.False(s.t, s.open, "commit before end")
	require.Equal(s.t, s.cb, cb, "commit of another command buffer")
	s.commits = append(s.commits, cb)
}
func (s *simEncoder) inside() { require.True(s.t, s.open, "call outside an encoder") }

func clone(m map[int]bound) map[int]bound {
	out := make(map[int]bound, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// check asserts that each dispatch of p ran with its contract's pipeline,
// every binding at its index (weights at the right file offset through the
// covering), its parameters at the params index, its geometry, and a
// barrier exactly where the plan asks for one inside a command buffer.
func (s *simEncoder) check(p *plan.Plan) {
	t := s.t
	var want []int
	i := 0
	for ci, cb := range p.Commands {
		if len(cb.Dispatches) > 0 {
			want = append(want, ci)
		}
		for di := range cb.Dispatches {
			d := &cb.Dispatches[di]
			require.Less(t, i, len(s.runs), "fewer dispatches than the plan")
			r := s.runs[i]
			i++
			where := fmt.Sprintf("cb %d dispatch %d %s (%s)", ci, di, d.Node, d.Kernel)
			assert.Equal(t, ci, r.cb, where)
			assert.Equal(t, PipelineKey(d), r.pipeline, where)
			for bi, b := range d.Bindings {
				got, ok := r.slots[bi]
				require.True(t, ok, "%s: nothing at index %d", where, bi)
				require.Nil(t, got.bytes, "%s: bytes at binding index %d", where, bi)
				require.Equal(t, b.Buffer, got.buf.Kind, "%s binding %d", where, bi)
				off := got.offset
				if b.Buffer == plan.Weights {
					w := s.cov[got.buf.Window]
					off += w.Offset
					assert.LessOrEqual(t, b.End(), w.End(), "%s binding %d inside its window", where, bi)
				} else {
					assert.Zero(t, got.buf.Window, where)
				}
				assert.Equal(t, b.Offset, off, "%s binding %d offset", where, bi)
			}
			l, err := Geometry(d)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(plan.Encode(d.Params), r.slots[l.ParamsIndex].bytes), "%s params", where)
			assert.Equal(t, l.Threadgroups, r.groups, where)
			assert.Equal(t, l.Threads, r.threads, where)
			if l.ThreadgroupMemory > 0 {
				assert.Equal(t, l.ThreadgroupMemory, r.tgmem, where)
			}
			assert.Equal(t, d.Barrier && !r.firstInCommandBuf, r.barrier, "%s barrier", where)
			if split := SplitOf(d); split != nil {
				require.Less(t, i, len(s.runs), "%s: no reduction", where)
				red := s.runs[i]
				i++
				scratch := bound{buf: BufferRef{Kind: scratchBuffer}}
				assert.Equal(t, scratch, r.slots[l.ParamsIndex+1], "%s: scratch", where)
				assert.Equal(t, r.slots, red.slots, "%s: the reduction runs with the same bindings", where)
				assert.Equal(t, split.Kernel, red.pipeline, where)
				assert.Equal(t, split.Threadgroups, red.groups, where)
				assert.Equal(t, split.Threads, red.threads, where)
				assert.True(t, red.barrier, "%s: the reduction waits for the chunks", where)
				assert.Equal(t, ci, red.cb, where)
			}
		}
	}
	assert.Equal(t, len(s.runs), i, "more dispatches than the plan")
	assert.Equal(t, want, s.commits, "command buffers committed")
}
