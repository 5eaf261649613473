//go:build linux && (amd64 || arm64)

package metalrt

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/internal/testmodel"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/plan"
)

// replayPreamble is the C of replay_darwin.go: its cgo preamble without
// the #cgo lines.
func replayPreamble(t testing.TB) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "replay_darwin.go", nil, parser.ParseComments)
	require.NoError(t, err)
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if ok && g.Tok == token.IMPORT && len(g.Specs) == 1 && g.Specs[0].(*ast.ImportSpec).Path.Value == `"C"` {
			var c strings.Builder
			for line := range strings.Lines(g.Doc.Text()) {
				if !strings.HasPrefix(line, "#cgo ") {
					c.WriteString(line)
				}
			}
			return c.String()
		}
	}
	t.Fatal(`replay_darwin.go has no import "C" with a preamble`)
	return ""
}

// buildHarness compiles testdata/replay_harness.c around the preamble with
// the host's C compiler (gcc, as the emulator tests need g++).
func buildHarness(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "preamble.h"), []byte(replayPreamble(t)), 0o644))
	harness, err := filepath.Abs("testdata/replay_harness.c")
	require.NoError(t, err)
	bin := filepath.Join(dir, "harness")
	out, err := exec.Command("gcc", "-std=c11", "-O1", "-Wall", "-Wextra", "-Wno-unused-parameter",
		"-Wno-unused-function", "-I", dir, "-o", bin, harness).CombinedOutput()
	require.NoError(t, err, "gcc: %s", out)
	// gcc warns of every call through objc_msgSend cast to the message's
	// type, which is how Apple's runtime is meant to be called (clang does
	// not); any other warning fails.
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "warning:") && !strings.Contains(line, "function called through a non-compatible type") {
			t.Errorf("gcc: %s", line)
		}
	}
	return bin
}

// runHarness writes f for the harness and returns what it prints.
func runHarness(t testing.TB, bin string, f *FlatList, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, b []byte) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644)) }
	entries := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f.Entries))), len(f.Entries)*int(unsafe.Sizeof(FlatEntry{})))
	write("entries.bin", entries)
	write("params.bin", f.Params)
	var spans, buffers strings.Builder
	for _, s := range f.Spans {
		fmt.Fprintf(&spans, "%d %d\n", s.Start, s.End)
	}
	for _, b := range f.Buffers {
		fmt.Fprintln(&buffers, b)
	}
	write("spans.txt", []byte(spans.String()))
	write("pipelines.txt", []byte(strings.Join(f.Pipelines, "\n")+"\n"))
	write("buffers.txt", []byte(buffers.String()))
	out, err := exec.Command(bin, append([]string{dir}, args...)...).CombinedOutput()
	require.NoError(t, err, "harness: %s", out)
	return string(out)
}

// TestCReplay runs the C replay on Linux against fake Objective-C objects
// (testdata/replay_harness.c): for the hand plan, stories260K and the
// Mistral-7B layout it must send exactly the calls the Recorder records
// for the command list, then wait for every command buffer, then fill a
// buffer with zeros as ResetKV does.
func TestCReplay(t *testing.T) {
	bin := buildHarness(t)
	stories, err := mistral.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer stories.Close()
	plans := map[string]*plan.Plan{"stories260K": modelPlan(t, stories, 5), "mistral7b": modelPlan(t, testmodel.Mistral7B(t), 1)}
	lists := map[string]*CommandList{}
	lists["hand"], err = NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	for name, p := range plans {
		cov, err := Cover(p.Buffers[plan.Weights].Size, page, gib, Extents(p))
		require.NoError(t, err)
		lists[name], err = NewCommandList(p, cov)
		require.NoError(t, err)
	}
	for name, l := range lists {
		t.Run(name, func(t *testing.T) {
			f, err := l.Flatten()
			require.NoError(t, err)
			var want strings.Builder
			l.Replay(renumbered{Recorder{W: &want}, new(int)})
			for i := range f.Spans {
				fmt.Fprintf(&want, "wait cb=%d\n", i)
			}
			want.WriteString("failed -1\n" + zeroed(f, len(f.Spans), 0))
			assert.Equal(t, want.String(), runHarness(t, bin, f))
		})
	}
}

// zeroed is what the harness prints for mg_zero on command buffer cb.
func zeroed(f *FlatList, cb, rc int) string {
	return fmt.Sprintf("fill %s [0, +4096) with 0\nend blit\ncommit cb=%d\nwait cb=%d\nzero %d\npools 0\n", f.Buffers[0], cb, cb, rc)
}

// TestCReplayErrors checks the C replay's answers to a command buffer that
// fails, and to a nil command buffer or encoder, which it reports instead
// of messaging.
func TestCReplayErrors(t *testing.T) {
	bin := buildHarness(t)
	l, err := NewCommandList(handPlan(), handCovering)
	require.NoError(t, err)
	f, err := l.Flatten()
	require.NoError(t, err)
	var cb0, all strings.Builder
	l.Replay(renumbered{Recorder{W: &all}, new(int)})
	cb0.WriteString(all.String()[:strings.Index(all.String(), "begin cb=1")])

	assert.Equal(t, all.String()+"wait cb=0\nwait cb=1\nfailed 1\n"+zeroed(f, 2, 0), runHarness(t, bin, f, "fail=1"),
		"the second command buffer fails: both are waited for, the second is named")
	assert.Equal(t, cb0.String()+"encode 1: 1\nwait cb=0\nfailed -1\n"+zeroed(f, 2, 0), runHarness(t, bin, f, "nocb=1"),
		"no second command buffer: MG_NO_COMMAND_BUFFER, the first is still waited for")
	assert.Equal(t, "encode 0: 2\nfailed -1\n"+zeroed(f, 1, 0), runHarness(t, bin, f, "noenc=0"),
		"no encoder: MG_NO_ENCODER, nothing committed")
	assert.Equal(t, all.String()+"wait cb=0\nwait cb=1\nfailed -1\nzero 1\npools 0\n", runHarness(t, bin, f, "nocb=2"),
		"no command buffer for the fill: MG_NO_COMMAND_BUFFER")
}

// BenchmarkCReplay times the C replay of a Mistral-7B decode step (every
// span encoded, then waited for) in the harness, whose fake methods return
// at once: the replay's own cost per token, not Metal's.
func BenchmarkCReplay(b *testing.B) {
	p := modelPlan(b, testmodel.Mistral7B(b), 1)
	cov, err := Cover(p.Buffers[plan.Weights].Size, page, gib, Extents(p))
	require.NoError(b, err)
	l, err := NewCommandList(p, cov)
	require.NoError(b, err)
	f, err := l.Flatten()
	require.NoError(b, err)
	bin := buildHarness(b)
	out := runHarness(b, bin, f, fmt.Sprintf("bench=%d", b.N))
	var ns float64
	_, err = fmt.Sscanf(out, "%g ns/step", &ns)
	require.NoError(b, err, out)
	b.ReportMetric(ns, "ns/step")
	b.ReportMetric(float64(len(f.Entries)), "entries/step")
}
