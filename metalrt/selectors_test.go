package metalrt

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// darwinkitSelectors reads every objc.Sel("...") of darwinkit's Metal,
// Foundation and objc sources from the module cache.
func darwinkitSelectors(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/progrium/darwinkit").Output()
	require.NoError(t, err, "go list -m github.com/progrium/darwinkit")
	var mod struct{ Version, Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	require.Equal(t, "v0.5.0", mod.Version)
	require.NotEmpty(t, mod.Dir, "darwinkit is not in the module cache (go mod download)")
	re := regexp.MustCompile(`objc\.Sel\("([^"]+)"\)`)
	sels := map[string]bool{}
	for _, dir := range []string{"macos/metal", "macos/foundation", "objc"} {
		files, err := filepath.Glob(filepath.Join(mod.Dir, dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range re.FindAllSubmatch(b, -1) {
				sels[string(m[1])] = true
			}
		}
	}
	return sels
}

func TestSelectorsExistInDarwinkit(t *testing.T) {
	known := darwinkitSelectors(t)
	require.True(t, known["commandBuffer"], "the scan finds darwinkit's selectors")
	assert.False(t, known["setBuffer:offset:atIndexx:"])
	for _, s := range Selectors {
		assert.True(t, known[s], "selector %q does not appear in darwinkit v0.5.0", s)
	}
}

func TestSelectorsAreAllCheckedAtStartup(t *testing.T) {
	distinct := func(lists ...[]string) []string {
		return slices.Compact(slices.Sorted(slices.Values(slices.Concat(lists...))))
	}
	assert.Equal(t, distinct(Selectors), distinct(deviceSelectors, queueSelectors, commandBufferSelectors, encoderSelectors, blitSelectors),
		"every selector sent is asked for with respondsToSelector:")
	assert.Equal(t, distinct(Selectors), distinct(callSelectors, replaySelectors), "Selectors are those sent through objc.Call and from the C replay")
	assert.Len(t, distinct(Selectors), len(Selectors), "Selectors lists each once")
}

// literalIdents returns the identifiers of the values of the composite
// literal assigned to name in file (keys are checked to be distinct).
func literalIdents(t *testing.T, file, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err)
	var idents []string
	keys := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name {
			return true
		}
		for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				key := types.ExprString(kv.Key)
				assert.False(t, keys[key], "%s: key %s twice", name, key)
				keys[key] = true
				e = kv.Value
			}
			idents = append(idents, e.(*ast.Ident).Name)
		}
		return false
	})
	require.NotEmpty(t, idents, "%s in %s", name, file)
	return idents
}

// TestReplaySelectorTable checks that the C replay's selector table, keyed
// by its C enum, holds each of replaySelectors once.
func TestReplaySelectorTable(t *testing.T) {
	assert.ElementsMatch(t, literalIdents(t, "selectors.go", "replaySelectors"),
		literalIdents(t, "replay_darwin.go", "replaySelectorTable"))
}

// TestDarwinGlueUsesTheSelectorTable reads the darwin sources: no
// selector is spelled out there (objc.Sel takes one of selectors.go's
// constants) and every objc.Call goes through the table.
func TestDarwinGlueUsesTheSelectorTable(t *testing.T) {
	files, err := filepath.Glob("*_darwin.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	table := map[string]bool{}
	fset := token.NewFileSet()
	sel, err := parser.ParseFile(fset, "selectors.go", nil, 0)
	require.NoError(t, err)
	ast.Inspect(sel, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for _, name := range vs.Names {
				if strings.HasPrefix(name.Name, "sel") && name.Name != "selectors" {
					table[name.Name] = true
				}
			}
		}
		return true
	})
	assert.Len(t, table, len(Selectors), "every sel constant is listed in Selectors")
	calls := 0
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if s, err := strconv.Unquote(x.Value); err == nil && x.Kind == token.STRING && regexp.MustCompile(`^[a-zA-Z]+(:[a-zA-Z]*)*:$`).MatchString(s) {
					t.Errorf("%s: selector-like literal %q: use a constant of selectors.go", fset.Position(x.Pos()), s)
				}
			case *ast.CallExpr:
				if isSel(x.Fun, "objc", "Sel") {
					if id, ok := x.Args[0].(*ast.Ident); !ok || (!table[id.Name] && id.Name != "name") {
						t.Errorf("%s: objc.Sel of something other than a selectors.go constant", fset.Position(x.Pos()))
					}
				}
				if ix, ok := x.Fun.(*ast.IndexExpr); ok && isSel(ix.X, "objc", "Call") {
					calls++
					if id, ok := x.Args[1].(*ast.Ident); !ok || !strings.HasPrefix(id.Name, "s") {
						t.Errorf("%s: objc.Call with a selector that is not one of the glue's", fset.Position(x.Pos()))
					}
				}
			}
			return true
		})
	}
	assert.Equal(t, len(callSelectors), calls, "one objc.Call per selector, in one typed wrapper each")
}

func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == pkg && s.Sel.Name == name
}
