package cudart

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/runtimecheck"
	"github.com/metalgraph/metalgraph/plan"
)

// preprocessed is the kernel source after g++'s preprocessor with every
// weight type's mat-vec kernels on: the entry points as NVRTC sees them.
func preprocessed(t *testing.T) string {
	t.Helper()
	gxx := runtimecheck.GXX(t, "CI checks the CUDA kernels' entry points with its preprocessor",
		"the CUDA kernels' entry points are not checked (install g++)")
	src, err := Source()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "kernels.cu")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	args := []string{"-E", "-P", "-x", "c++"}
	for _, wt := range plan.WeightTypes {
		args = append(args, "-DMAT_"+strings.ToUpper(wt.String()))
	}
	out, err := exec.Command(gxx, append(args, path)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

var entryRE = regexp.MustCompile(`extern "C" __global__ void (?:__launch_bounds__\((?:[^()]|\([^()]*\))*\)\s*)?(\w+)\s*\(([^)]*)\)`)

// TestEntryPointsMatchContracts checks the kernels' entry points against
// the plan contracts: exactly one per contract and one per runtime kernel
// (steps.go), none other; one pointer per binding named after its role
// (const for read roles, writable for write roles) in the contract's
// order, then the contract's parameter struct by value, then the
// contract's ExtraArgs: the layout packArgs fills.
func TestEntryPointsMatchContracts(t *testing.T) {
	entries := entryPoints(t, preprocessed(t))
	contracts := plan.Contracts()
	require.Len(t, entries, len(contracts)+len(RuntimeKernels), "one entry point per contract and runtime kernel")
	for name, params := range RuntimeKernels {
		require.Equal(t, params, entries[name], "runtime kernel %s", name)
	}
	for _, c := range contracts {
		params, ok := entries[c.Name]
		require.True(t, ok, "no entry point for %s", c.Name)
		extra := ExtraArgs(c)
		require.Len(t, params, len(c.Roles)+1+len(extra), "%s: a pointer per role, the parameters and %v", c.Name, extra)
		for i, r := range c.Roles {
			p := params[i]
			require.True(t, strings.HasSuffix(p, " *"+r.Name), "%s: argument %d is %q, the contract's role %d is %s", c.Name, i, p, i, r.Name)
			require.Equal(t, !r.Write, strings.HasPrefix(p, "const "), "%s: %s is const exactly when the role is read", c.Name, r.Name)
		}
		want := "const " + reflect.TypeOf(c.Params).Name() + " p"
		require.Equal(t, want, params[len(c.Roles)], "%s: the parameter struct follows the bindings, by value", c.Name)
		if len(extra) > 0 {
			require.Equal(t, extra, params[len(c.Roles)+1:], "%s: the arguments after the parameters", c.Name)
		}
	}
}

var structRE = regexp.MustCompile(`struct (\w+Params) \{([^}]*)\};`)

// TestParamStructsMatchPlan checks every parameter struct in common.cuh
// against plan/params.go: the same fields (snake_case) of the same 4-byte
// types in the same order, so plan.Encode's bytes are the struct.
func TestParamStructsMatchPlan(t *testing.T) {
	src, err := kernelFiles.ReadFile("kernels/" + commonFile)
	require.NoError(t, err)
	structs := map[string][]string{}
	for _, m := range structRE.FindAllStringSubmatch(string(src), -1) {
		var fields []string
		for _, f := range strings.Split(m[2], ";") {
			if f = strings.Join(strings.Fields(f), " "); f != "" {
				fields = append(fields, f)
			}
		}
		structs[m[1]] = fields
	}
	goStructs := []plan.Params{plan.StepParams{}, plan.EmbedParams{}, plan.NormParams{}, plan.MatParams{}, plan.QKVParams{},
		plan.RopeParams{}, plan.KVParams{}, plan.RopeKVParams{}, plan.AttnParams{}, plan.EltParams{}}
	require.Len(t, structs, len(goStructs))
	for _, p := range goStructs {
		typ := reflect.TypeOf(p)
		fields, ok := structs[typ.Name()]
		require.True(t, ok, "common.cuh lacks %s", typ.Name())
		require.Len(t, fields, typ.NumField(), typ.Name())
		for i := range typ.NumField() {
			f := typ.Field(i)
			ctype := map[reflect.Kind]string{reflect.Int32: "int", reflect.Float32: "float"}[f.Type.Kind()]
			name := snake(f.Name)
			if f.Name == "_" {
				name = "pad"
			}
			require.Equal(t, ctype+" "+name, fields[i], "%s field %d", typ.Name(), i)
		}
	}
}

// snake turns a Go field name into the C one: RowsQ → rows_q, KVLen →
// kv_len, Pos0 → pos0.
func snake(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (!unicode.IsUpper(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// TestLaunchConstantsMatchKernels compares geometry.go's shapes with the
// #defines the kernels are written for.
func TestLaunchConstantsMatchKernels(t *testing.T) {
	src, err := kernelFiles.ReadFile("kernels/" + commonFile)
	require.NoError(t, err)
	defines := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#define (\w+) (\d+)`).FindAllStringSubmatch(string(src), -1) {
		v, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		defines[m[1]] = v
	}
	for name, v := range map[string]int{"MV_WARPS": mvWarps, "MV_ROWS_PER_WARP": mvRowsPerWarp, "MT_TOKENS": mtTokens,
		"MVQ_WARPS": mvqWarps, "MVQ_ROWS_PER_WARP": mvqRowsPerWarp, "MVQ_TILE_BLOCKS": mvqTileBlocks,
		"MMQ_WARPS": mmqWarps, "MMQ_TOKENS": mmqTokens, "MMQT_ROWS": mmqtRows, "MMQT_TOKENS": mmqtTokens,
		"ATTN_WARPS": attnWarps, "FA_WARPS": faWarps, "FA_KV": faKV, "ELT_THREADS": eltThreads, "ATTN_MAX_DIM_PER_LANE": 256 / 32} {
		require.Equal(t, v, defines[name], name)
	}
}
