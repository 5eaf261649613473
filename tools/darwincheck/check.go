package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// targetEnv is the platform the checked code is built for. go list applies
// the build constraints of this platform; it never runs cgo, so no C
// toolchain for darwin is needed.
var targetEnv = []string{"GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=1"}

// Diagnostic is one problem found in the checked code: a type error, or a
// package that go list could not load.
type Diagnostic struct {
	Pos token.Position // Filename is absolute; zero when go list gave no position
	Msg string
}

func (d Diagnostic) String() string {
	if d.Pos.Filename == "" {
		return d.Msg
	}
	return d.Pos.String() + ": " + d.Msg
}

// Result is the outcome of one Check.
type Result struct {
	Packages       int          // packages type-checked, standard library included
	ModulePackages int          // of which belong to the main module
	Diagnostics    []Diagnostic // sorted by position, without duplicates
}

// Options selects what Check covers beyond the matched packages and their
// non-test dependencies.
type Options struct {
	// Tests adds the matched packages' _test.go files, as go vet does: the
	// darwin-only tests can be compiled nowhere else.
	Tests bool
	// Std also checks the standard library's function bodies and reports its
	// errors. Off, the standard library is checked for its declarations only
	// (what importers need): it is known to compile, so any error there is a
	// limit of this checker, not a problem of the checked code.
	Std bool
}

// listedPackage is the part of `go list -json` output the checker uses.
type listedPackage struct {
	Dir        string
	ImportPath string // with -test, test variants read "p [p.test]"
	Name       string
	ForTest    string
	GoFiles    []string
	CgoFiles   []string
	// The #cgo CPPFLAGS and CFLAGS directives, for the cgo tool.
	CgoCPPFLAGS, CgoCFLAGS []string
	Imports                []string          // resolved: test variants included
	ImportMap              map[string]string // source import path -> entry in Imports
	Standard               bool
	Module                 *struct {
		Main      bool
		GoVersion string
	}
	Error *struct {
		ImportStack []string
		Pos         string
		Err         string
	}
}

// listFields names the fields requested from go list, keeping its output small.
const listFields = "Dir,ImportPath,Name,ForTest,GoFiles,CgoFiles,CgoCPPFLAGS,CgoCFLAGS,Imports,ImportMap,Standard,Module,Error"

// Check type-checks the packages matched by patterns, and every package they
// depend on, as built for darwin/arm64 with cgo. dir is the directory go list
// runs in (normally the module root). The error is for failures of the
// checker itself; problems in the code are Diagnostics.
func Check(dir string, patterns []string, opts Options) (*Result, error) {
	pkgs, err := goList(dir, patterns, opts.Tests)
	if err != nil {
		return nil, err
	}
	return checkPackages(dir, pkgs, opts.Std)
}

// goList runs `go list -e -deps` for the darwin target and decodes its
// stream of JSON objects.
func goList(dir string, patterns []string, tests bool) ([]*listedPackage, error) {
	args := []string{"list", "-e", "-deps", "-json=" + listFields}
	if tests {
		args = append(args, "-test")
	}
	args = append(append(args, "--"), patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), targetEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", strings.Join(patterns, " "), err, strings.TrimSpace(stderr.String()))
	}
	var pkgs []*listedPackage
	dec := json.NewDecoder(&stdout)
	for {
		p := new(listedPackage)
		err := dec.Decode(p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		if isTestMain(p) {
			continue
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s matched no packages", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

// isTestMain reports the test binary's main package that go list -test
// generates: its source is the toolchain's, in the build cache.
func isTestMain(p *listedPackage) bool {
	return p.Name == "main" && p.ForTest == "" && strings.HasSuffix(p.ImportPath, ".test") &&
		len(p.GoFiles) == 1 && filepath.IsAbs(p.GoFiles[0])
}

// node is one package being checked. done is closed once types and diags
// are final, so dependents may read them after receiving from done.
type node struct {
	list   *listedPackage
	order  int // position in go list's output, where dependencies come first
	done   chan struct{}
	types  *types.Package
	diags  []Diagnostic
	broken []string // imports that failed because go list could not load them
}

// checkPackages type-checks pkgs concurrently, each package starting as
// soon as the packages it imports are done.
func checkPackages(dir string, pkgs []*listedPackage, std bool) (*Result, error) {
	nodes := make(map[string]*node, len(pkgs))
	for i, p := range pkgs {
		if _, dup := nodes[p.ImportPath]; dup {
			return nil, fmt.Errorf("go list reported package %s twice", p.ImportPath)
		}
		nodes[p.ImportPath] = &node{list: p, order: i, done: make(chan struct{})}
	}
	fset := token.NewFileSet()
	sizes := types.SizesFor("gc", "arm64")
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(n.done)
			deps := n.list.Imports
			if n.list.translatesCgo() {
				deps = append(slices.Clone(deps), cgoImports...)
			}
			for _, path := range deps {
				if dep := nodes[path]; n.follows(dep) {
					<-dep.done
				}
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			n.check(dir, fset, sizes, nodes, std || !n.list.Standard)
		}()
	}
	wg.Wait()

	res := &Result{}
	checked := map[string]bool{} // a package and its test variant count once
	for _, n := range nodes {
		res.Diagnostics = append(res.Diagnostics, n.diags...)
		path, _, _ := strings.Cut(n.list.ImportPath, " ")
		if n.types == nil || checked[path] {
			continue
		}
		checked[path] = true
		res.Packages++
		if n.list.Module != nil && n.list.Module.Main {
			res.ModulePackages++
		}
	}
	res.Diagnostics = sortDiagnostics(res.Diagnostics)
	return res, nil
}

// check loads one package: go list's own errors if it has any, else parse
// and type-check its files, the main module's cgo files as the cgo tool
// translates them, other cgo files with FakeImportC. Function bodies are
// checked only where errors are reported; importers need the declarations
// alone.
func (n *node) check(dir string, fset *token.FileSet, sizes types.Sizes, nodes map[string]*node, report bool) {
	p := n.list
	if p.Error != nil {
		n.diags = append(n.diags, listDiagnostic(dir, p))
		return
	}
	if p.ImportPath == "unsafe" {
		n.types = types.Unsafe
		return
	}
	files, diags, err := n.files(fset)
	if err != nil {
		diags = append(diags, Diagnostic{Msg: err.Error()})
	}
	if len(diags) > 0 {
		n.diags = append(n.diags, diags...)
		return
	}
	conf := types.Config{
		FakeImportC:      !p.translatesCgo(),
		Sizes:            sizes,
		IgnoreFuncBodies: !report,
		Importer:         n.importer(nodes),
		Error: func(err error) {
			if d := typeDiagnostic(err); report && !n.isBrokenImport(d.Msg) {
				n.diags = append(n.diags, d)
			}
		},
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	path, _, _ := strings.Cut(p.ImportPath, " ")
	// Errors arrive through conf.Error; the package is usable by dependents
	// even when incomplete.
	n.types, _ = conf.Check(path, fset, files, nil)
}

// importer resolves n's imports to already-checked packages, through go
// list's ImportMap (vendored standard-library paths, test variants).
func (n *node) importer(nodes map[string]*node) types.Importer {
	return importerFunc(func(path string) (*types.Package, error) {
		id := path
		if mapped, ok := n.list.ImportMap[path]; ok {
			id = mapped
		}
		dep := nodes[id]
		switch {
		case dep == nil:
			return nil, fmt.Errorf("package %s is not in go list's output", id)
		case dep.list.Error != nil:
			n.broken = append(n.broken, path)
			return nil, fmt.Errorf("package %s could not be loaded", id)
		case !n.follows(dep):
			return nil, fmt.Errorf("package %s is listed after its importer: an import cycle", id)
		case dep.types == nil: // its syntax errors are reported
			n.broken = append(n.broken, path)
			return nil, fmt.Errorf("package %s could not be parsed", id)
		}
		return dep.types, nil
	})
}

// follows says whether n may wait for dep. go list lists dependencies
// first; an import of a later package closes a cycle (which go list reports),
// and waiting on it would deadlock.
func (n *node) follows(dep *node) bool {
	return dep != nil && dep.order < n.order
}

// isBrokenImport says whether a type error only repeats that an import
// could not be loaded: its own go list or syntax errors are reported already.
func (n *node) isBrokenImport(msg string) bool {
	for _, path := range n.broken {
		if strings.HasPrefix(msg, "could not import "+path+" ") {
			return true
		}
	}
	return false
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// files parses the package's Go files and its cgo files, translated or not.
func (n *node) files(fset *token.FileSet) ([]*ast.File, []Diagnostic, error) {
	p := n.list
	if !p.translatesCgo() {
		files, diags := parseFiles(fset, p.Dir, append(slices.Clone(p.GoFiles), p.CgoFiles...))
		return files, diags, nil
	}
	files, diags := parseFiles(fset, p.Dir, p.GoFiles)
	cgo, cgoDiags, err := translateCgo(fset, p)
	return append(files, cgo...), append(diags, cgoDiags...), err
}

// parseFiles parses files concurrently, names relative to dir.
func parseFiles(fset *token.FileSet, dir string, names []string) ([]*ast.File, []Diagnostic) {
	files := make([]*ast.File, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files[i], errs[i] = parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		}()
	}
	wg.Wait()
	var diags []Diagnostic
	for _, err := range errs {
		var list scanner.ErrorList
		switch {
		case err == nil:
		case errors.As(err, &list):
			for _, e := range list {
				diags = append(diags, Diagnostic{Pos: e.Pos, Msg: e.Msg})
			}
		default: // an unreadable file
			diags = append(diags, Diagnostic{Msg: err.Error()})
		}
	}
	return files, diags
}

func typeDiagnostic(err error) Diagnostic {
	var te types.Error
	if errors.As(err, &te) {
		return Diagnostic{Pos: te.Fset.Position(te.Pos), Msg: te.Msg}
	}
	return Diagnostic{Msg: err.Error()}
}

// listDiagnostic turns go list's error for p into a Diagnostic. go list
// gives positions relative to the directory it ran in, and messages that may
// span lines; an error without a position names the import stack instead.
func listDiagnostic(dir string, p *listedPackage) Diagnostic {
	e := p.Error
	msg := strings.Join(strings.Fields(e.Err), " ")
	if e.Pos == "" {
		if len(e.ImportStack) > 1 {
			msg += " (" + strings.Join(e.ImportStack, " imports ") + ")"
		}
		return Diagnostic{Msg: "package " + p.ImportPath + ": " + msg}
	}
	pos, ok := parsePosition(e.Pos)
	if !ok {
		return Diagnostic{Msg: e.Pos + ": " + msg}
	}
	if !filepath.IsAbs(pos.Filename) {
		pos.Filename = filepath.Join(dir, pos.Filename)
	}
	return Diagnostic{Pos: pos, Msg: msg}
}

// parsePosition splits "file:line:col" (or "file:line").
func parsePosition(s string) (token.Position, bool) {
	var pos token.Position
	rest := s
	for _, field := range []*int{&pos.Column, &pos.Line} {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		v, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			break
		}
		*field, rest = v, rest[:i]
	}
	if pos.Column != 0 && pos.Line == 0 { // only "file:line"
		pos.Line, pos.Column = pos.Column, 0
	}
	if pos.Line == 0 || rest == "" {
		return pos, false
	}
	pos.Filename = rest
	return pos, true
}

// sortDiagnostics orders ds by position and drops repeats: a file shared by
// a package and its test variant is checked twice.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	slices.SortFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			strings.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			strings.Compare(a.Msg, b.Msg))
	})
	return slices.Compact(ds)
}
