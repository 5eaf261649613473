package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// cgoEnv is the platform the cgo tool translates for: arm64, darwin's
// sizes, but linux, so that the tool drives the host's C compiler without
// the -arch flag it adds for darwin. Both are LP64 with the same C integer
// and pointer sizes, which is all a preamble without Apple headers uses.
var cgoEnv = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=1"}

// cgoImports are the packages cgo's generated code imports.
var cgoImports = []string{"runtime/cgo", "syscall", "unsafe"}

// translatesCgo says whether a package's cgo files are translated by the
// cgo tool rather than checked with FakeImportC: those of the main module,
// whose preambles must then declare what they use instead of including
// Apple headers. Dependencies (darwinkit) include them, so FakeImportC.
func (p *listedPackage) translatesCgo() bool {
	return len(p.CgoFiles) > 0 && p.Module != nil && p.Module.Main && !p.Standard
}

// translateCgo runs `go tool cgo` over p's cgo files, which compiles their
// preambles with the host's C compiler and turns every C.name into Go
// declarations of its real type, and parses the Go it writes. Its //line
// comments put positions back in the original files. cgo's and the C
// compiler's errors become diagnostics.
func translateCgo(fset *token.FileSet, p *listedPackage) ([]*ast.File, []Diagnostic, error) {
	dir, err := os.MkdirTemp("", "darwincheck-cgo-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	// cgo names the C compiler's objects by appending to -objdir, so the
	// separator keeps them inside dir (and removed with it).
	args := []string{"tool", "cgo", "-objdir", dir + string(filepath.Separator), "-importpath", p.ImportPath, "--"}
	args = append(append(append(args, p.CgoCPPFLAGS...), p.CgoCFLAGS...), p.CgoFiles...)
	cmd := exec.Command("go", args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), cgoEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		diags := cgoDiagnostics(p.Dir, stderr.String())
		if len(diags) == 0 {
			return nil, nil, fmt.Errorf("go tool cgo for %s: %v", p.ImportPath, err)
		}
		return nil, diags, nil
	}
	names := []string{filepath.Join(dir, "_cgo_gotypes.go")}
	for _, f := range p.CgoFiles {
		names = append(names, filepath.Join(dir, strings.TrimSuffix(f, ".go")+".cgo1.go"))
	}
	files, diags := parseFiles(fset, "", names)
	return files, diags, nil
}

// cgoMessage is a line of cgo or C compiler output that names a position.
var cgoMessage = regexp.MustCompile(`^(.+?):(\d+)(?::(\d+))?: (.*)$`)

// cgoDiagnostics turns the cgo tool's output into diagnostics: positioned
// lines (cgo's own errors and the C compiler's "error:" lines, both
// pointing into the Go files) with their position, the first other line
// alone if there is none. The C compiler's notes and source excerpts are
// left out.
func cgoDiagnostics(dir, out string) []Diagnostic {
	var diags []Diagnostic
	var other string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		m := cgoMessage.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[4], "note:") || strings.HasPrefix(m[4], "warning:") {
			if other == "" && m == nil && strings.TrimSpace(line) != "" && !strings.HasPrefix(line, " ") {
				other = line
			}
			continue
		}
		pos := token.Position{Filename: m[1]}
		pos.Line, _ = strconv.Atoi(m[2])
		pos.Column, _ = strconv.Atoi(m[3])
		if !filepath.IsAbs(pos.Filename) {
			pos.Filename = filepath.Join(dir, pos.Filename)
		}
		diags = append(diags, Diagnostic{Pos: pos, Msg: strings.TrimPrefix(m[4], "error: ")})
	}
	if len(diags) == 0 && other != "" {
		diags = append(diags, Diagnostic{Msg: "cgo: " + other})
	}
	return diags
}
