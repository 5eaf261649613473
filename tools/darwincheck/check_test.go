package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeModule creates a module named example.com/selftest in a temp dir
// from name -> content and returns its root.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files["go.mod"] = "module example.com/selftest\n\ngo 1.22\n"
	for name, content := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return root
}

const cgoFile = `package p

// #include <stdint.h>
import "C"

// Width uses C names the way cgo code does; FakeImportC must accept them.
func Width() int {
	var n C.int = 4
	return int(n) + int(C.sizeof_int)
}
`

func darwinFile(body string) string {
	return "//go:build darwin\n\npackage p\n\n" + body
}

// messages renders diagnostics with paths relative to root.
func messages(t *testing.T, root string, res *Result) []string {
	t.Helper()
	var out []string
	for _, d := range res.Diagnostics {
		if d.Pos.Filename != "" {
			rel, err := filepath.Rel(root, d.Pos.Filename)
			require.NoError(t, err)
			d.Pos.Filename = filepath.ToSlash(rel)
		}
		out = append(out, d.String())
	}
	return out
}

func TestCheckReportsDarwinTypeErrorAndAcceptsCgo(t *testing.T) {
	root := writeModule(t, map[string]string{
		"p/cgo.go":    cgoFile,
		"p/darwin.go": darwinFile("var Count int = \"three\"\n"),
		"p/linux.go":  "//go:build linux\n\npackage p\n\nvar Count string = 3\n", // not built for darwin
	})
	res, err := Check(root, []string{"./..."}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		`p/darwin.go:5:17: cannot use "three" (untyped string constant) as int value in variable declaration`,
	}, messages(t, root, res))

	require.NoError(t, os.WriteFile(filepath.Join(root, "p/darwin.go"), []byte(darwinFile("var Count int = 3\n")), 0o644))
	res, err = Check(root, []string{"./..."}, Options{})
	require.NoError(t, err)
	assert.Empty(t, res.Diagnostics)
	assert.Equal(t, 1, res.ModulePackages)
	assert.Greater(t, res.Packages, 5, "the standard library dependencies (runtime/cgo included) are checked too")
}

func TestCheckTestFiles(t *testing.T) {
	root := writeModule(t, map[string]string{
		"p/darwin.go":        darwinFile("func F() int { return 1 }\n"),
		"p/darwin_test.go":   darwinFile("import \"testing\"\n\nfunc TestF(t *testing.T) { var s string = F(); _ = s }\n"),
		"p/external_test.go": "package p_test\n\nimport \"example.com/selftest/p\"\n\nvar _ bool = p.F()\n",
	})
	res, err := Check(root, []string{"./..."}, Options{Tests: true})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"p/darwin_test.go:7:43: cannot use F() (value of type int) as string value in variable declaration",
		"p/external_test.go:5:14: cannot use p.F() (value of type int) as bool value in variable declaration",
	}, messages(t, root, res))
	assert.Equal(t, 2, res.ModulePackages, "p and p_test; p's test variant is not counted again")

	res, err = Check(root, []string{"./..."}, Options{Tests: false})
	require.NoError(t, err)
	assert.Empty(t, res.Diagnostics)
}

func TestCheckReportsGoListErrors(t *testing.T) {
	root := writeModule(t, map[string]string{
		"p/darwin.go": darwinFile("import \"example.com/selftest/missing\"\n\nvar _ = missing.X\n"),
		"q/q.go":      "package q\n\nfunc F( {\n",
	})
	res, err := Check(root, []string{"./..."}, Options{})
	require.NoError(t, err)
	got := messages(t, root, res)
	require.Len(t, got, 2, "one error each, without a repeated 'could not import': %q", got)
	assert.Contains(t, got[0], "p/darwin.go:5:8: ")
	assert.Contains(t, got[0], "example.com/selftest/missing")
	assert.Contains(t, got[1], "q/q.go:3:")
}

func TestCheckImportCycleEndsWithOneError(t *testing.T) {
	root := writeModule(t, map[string]string{
		"a/a.go": "package a\n\nimport _ \"example.com/selftest/b\"\n",
		"b/b.go": "package b\n\nimport _ \"example.com/selftest/a\"\n",
	})
	res, err := Check(root, []string{"./..."}, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"package example.com/selftest/a: import cycle not allowed " +
			"(example.com/selftest/a imports example.com/selftest/b imports example.com/selftest/a)",
	}, messages(t, root, res))
}

func TestCheckExcludedPackageNamedExplicitly(t *testing.T) {
	root := writeModule(t, map[string]string{
		"lin/lin.go": "//go:build linux\n\npackage lin\n",
	})
	res, err := Check(root, []string{"./lin"}, Options{})
	require.NoError(t, err)
	require.Len(t, res.Diagnostics, 1)
	assert.Contains(t, res.Diagnostics[0].Msg, "build constraints exclude all Go files")
}

func TestCheckStandardLibraryBodies(t *testing.T) {
	root := writeModule(t, map[string]string{"p/cgo.go": cgoFile})
	res, err := Check(root, []string{"./..."}, Options{Std: true})
	require.NoError(t, err)
	assert.Empty(t, res.Diagnostics, "runtime/cgo and the rest must type-check with FakeImportC")
}

func TestDarwinkitFixtures(t *testing.T) {
	res, err := Check(".", []string{"./testdata/good"}, Options{Tests: true})
	require.NoError(t, err)
	assert.Empty(t, res.Diagnostics)
	assert.Equal(t, 1, res.ModulePackages)
	assert.Greater(t, res.Packages, 20, "darwinkit's objc, foundation and metal are checked too")

	res, err = Check(".", []string{"./testdata/bad"}, Options{Tests: true})
	require.NoError(t, err)
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, []string{
		"testdata/bad/bad.go:13:6: enc.EndEncoding undefined (type metal.ComputeCommandEncoderObject has no field or method EndEncoding)",
		"testdata/bad/bad.go:18:9: cannot use dev.MaxBufferLength() (value of type uint) as int value in return statement",
		`testdata/bad/cgo.go:9:14: cannot use "4" (untyped string constant) as int value in variable declaration`,
	}, messages(t, wd, res))
}

func TestRunOutputAndStatus(t *testing.T) {
	root := writeModule(t, map[string]string{"p/cgo.go": cgoFile})
	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(nil, Options{Tests: true}, &stdout, &stderr), stderr.String())
	assert.Regexp(t, `^darwincheck: \d+ packages checked \(1 from this module\)\n$`, stdout.String())

	require.NoError(t, os.WriteFile(filepath.Join(root, "p/bad.go"), []byte(darwinFile("var X int = \"x\"\n")), 0o644))
	stdout.Reset()
	require.Equal(t, 1, run([]string{"./p"}, Options{}, &stdout, &stderr))
	assert.Equal(t, "p/bad.go:5:13: cannot use \"x\" (untyped string constant) as int value in variable declaration\n", stdout.String())

	stdout.Reset()
	require.Equal(t, 1, run([]string{"./nowhere/..."}, Options{}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "pattern ./nowhere/...: ")

	require.NoError(t, os.Remove(filepath.Join(root, "p/bad.go")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "p/cgo.go"), []byte("//go:build linux\n\n"+cgoFile), 0o644))
	stdout.Reset()
	assert.Equal(t, 2, run(nil, Options{}, &stdout, &stderr), "nothing to check for darwin is the checker's failure, not a clean pass")
	assert.Contains(t, stderr.String(), "matched no packages")
	assert.Empty(t, stdout.String())
}

func TestParsePosition(t *testing.T) {
	for in, want := range map[string]string{
		"a/b.go:3:8": "a/b.go:3:8",
		"a/b.go:3":   "a/b.go:3",
		"c:\\x.go:3": "c:\\x.go:3",
	} {
		pos, ok := parsePosition(in)
		require.True(t, ok, in)
		assert.Equal(t, want, pos.String())
	}
	for _, in := range []string{"", "b.go", "b.go:x", ":3:4"} {
		_, ok := parsePosition(in)
		assert.False(t, ok, in)
	}
	assert.Equal(t, "go list failed", Diagnostic{Msg: "go list failed"}.String())
}

// cgoPreamble declares a struct, an enum and a function the way the Metal
// runtime's replay does, with no Apple header.
const cgoPreamble = `//go:build darwin

package p

/*
#include <stdint.h>
typedef struct { uint32_t op; uint64_t offset; } entry;
enum { OP_ADD = 3 };
static int apply(const entry *e, int n) { return n > 0 ? (int)e->offset + OP_ADD : 0; }
*/
import "C"

import "unsafe"

`

func TestCheckTranslatesTheModulesCgo(t *testing.T) {
	good := cgoPreamble + `type Entry struct {
	Op     uint32
	Offset uint64
}

var _ = [1]struct{}{}[unsafe.Sizeof(Entry{})-unsafe.Sizeof(C.entry{})]

func Apply(es []Entry) int {
	return int(C.apply((*C.entry)(unsafe.Pointer(&es[0])), C.int(len(es)))) + C.OP_ADD
}
`
	root := writeModule(t, map[string]string{"p/replay.go": good})
	res, err := Check(root, []string{"./..."}, Options{})
	require.NoError(t, err)
	assert.Empty(t, messages(t, root, res))

	// want is the whole message, or where the C compiler's wording varies,
	// its position followed by a name it must mention.
	for _, tc := range []struct{ name, from, to, want string }{
		{"Go argument of the wrong C type", "C.int(len(es))", "len(es)",
			"p/replay.go:23:57: cannot use len(es) (value of type int) as _Ctype_int value in argument to (_Cfunc_apply)"},
		{"C function that does not exist", "C.apply(", "C.applyAll(",
			"p/replay.go:23:13: could not determine what C.applyAll refers to"},
		{"struct layouts that differ", "Offset uint64", "Offset uint32",
			"p/replay.go:20:23: unsafe.Sizeof(Entry{}) - unsafe.Sizeof(_Ctype_entry{}) (constant -8 of type uintptr) overflows uintptr"},
		{"error in the C preamble", "(int)e->offset", "(int)e->offsets", "p/replay.go:9: offsets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, good, tc.from)
			root := writeModule(t, map[string]string{"p/replay.go": strings.Replace(good, tc.from, tc.to, 1)})
			res, err := Check(root, []string{"./..."}, Options{})
			require.NoError(t, err)
			got := messages(t, root, res)
			require.Len(t, got, 1)
			if pos, name, ok := strings.Cut(tc.want, ": "); ok && !strings.Contains(name, " ") {
				assert.True(t, strings.HasPrefix(got[0], pos), "%q is not at %s", got[0], pos)
				assert.Contains(t, got[0], name)
				return
			}
			assert.Equal(t, tc.want, got[0])
		})
	}
}
