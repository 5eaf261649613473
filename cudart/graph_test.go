package cudart

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeGraphs records the graph calls; failures are injected by name.
type fakeGraphs struct {
	calls     []string
	fail      string
	destroyed [][2]uintptr
	next      uintptr
}

func (f *fakeGraphs) err(call string) error {
	f.calls = append(f.calls, call)
	if f.fail == call {
		return errors.New(call + " failed")
	}
	return nil
}

func (f *fakeGraphs) beginCapture(uintptr) error { return f.err("begin") }

func (f *fakeGraphs) endCapture(uintptr) (uintptr, error) {
	f.next++
	return f.next, f.err("end")
}

func (f *fakeGraphs) instantiate(uintptr) (uintptr, error) {
	if err := f.err("instantiate"); err != nil {
		return 0, err
	}
	f.next++
	return f.next, nil
}

func (f *fakeGraphs) destroyGraph(g, e uintptr) { f.destroyed = append(f.destroyed, [2]uintptr{g, e}) }

// TestGraphCapturedOnce: the first step captures the launches, later
// steps replay without capturing again, and destroy frees both objects.
func TestGraphCapturedOnce(t *testing.T) {
	d := &fakeGraphs{}
	var g graphState
	launches := 0
	enqueue := func() error { d.calls = append(d.calls, "enqueue"); launches++; return nil }
	for range 3 {
		require.NoError(t, g.ensure(d, 7, enqueue))
	}
	require.Equal(t, []string{"begin", "enqueue", "end", "instantiate"}, d.calls)
	require.Equal(t, 1, launches)
	require.Equal(t, 1, g.captures)
	require.Equal(t, uintptr(1), g.graph)
	require.Equal(t, uintptr(2), g.exec)
	g.destroy(d)
	require.Equal(t, [][2]uintptr{{1, 2}}, d.destroyed)
	g.destroy(d)
	require.Len(t, d.destroyed, 1, "destroying twice frees once")
}

// TestGraphCaptureFailures: a failed launch still ends the capture and
// frees the partial graph; a failed instantiation frees the graph; either
// way no graph is kept and the next step captures again.
func TestGraphCaptureFailures(t *testing.T) {
	d := &fakeGraphs{}
	var g graphState
	err := g.ensure(d, 7, func() error { return errors.New("launch failed") })
	require.EqualError(t, err, "launch failed")
	require.Equal(t, []string{"begin", "end"}, d.calls)
	require.Equal(t, [][2]uintptr{{1, 0}}, d.destroyed)
	require.Zero(t, g.exec)

	d.fail = "instantiate"
	require.ErrorContains(t, g.ensure(d, 7, func() error { return nil }), "instantiating the graph: instantiate failed")
	require.Zero(t, g.exec)
	require.Len(t, d.destroyed, 2)

	d.fail = "begin"
	require.ErrorContains(t, g.ensure(d, 7, func() error { t.Fatal("no launches without a capture"); return nil }), "beginning the graph capture")

	d.fail = ""
	require.NoError(t, g.ensure(d, 7, func() error { return nil }))
	require.NotZero(t, g.exec)
	require.Equal(t, 3, g.captures, "captures begun: the failed begin is none")
}
