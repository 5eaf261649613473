package cudart

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
)

//go:embed kernels/*.cuh kernels/*.cu
var kernelFiles embed.FS

// commonFile holds the definitions every other kernel file uses.
const commonFile = "common.cuh"

// Source is the one CUDA C++ source NVRTC compiles: common.cuh first, then
// the .cu files by name, each introduced by a #line directive so compiler
// messages name the file and line they come from.
func Source() (string, error) {
	entries, err := fs.ReadDir(kernelFiles, "kernels")
	if err != nil {
		return "", fmt.Errorf("cudart: embedded kernels: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.SliceStable(names, func(i, j int) bool {
		if (names[i] == commonFile) != (names[j] == commonFile) {
			return names[i] == commonFile
		}
		return names[i] < names[j]
	})
	if len(names) == 0 || names[0] != commonFile {
		return "", fmt.Errorf("cudart: embedded kernels lack %s", commonFile)
	}
	var b strings.Builder
	for _, n := range names {
		src, err := kernelFiles.ReadFile("kernels/" + n)
		if err != nil {
			return "", fmt.Errorf("cudart: embedded kernels: %w", err)
		}
		fmt.Fprintf(&b, "#line 1 \"%s\"\n%s", n, src)
	}
	return b.String(), nil
}

// A unit is one compilation of the source: "base" (every kernel but the
// mat-vec families) or "mat_<type>" (those of one weight type, e.g.
// mat_q4_0), so that a model compiles only what its weights need.
const baseUnit = "base"

// UnitOf is the unit that holds a contract's kernel.
func UnitOf(c plan.Contract) string {
	switch v, _, _ := strings.Cut(c.Family, "@"); v {
	case "matvec", "mtmatvec", "matmul":
		return "mat_" + strings.ToLower(c.Weight.String())
	}
	return baseUnit
}

// CompileOptions are NVRTC's options for a unit on a GPU of compute
// capability arch (90 for sm_90): a CUBIN for that exact GPU, IEEE
// division and square roots, denormals kept, as the CPU runtime computes.
func CompileOptions(arch int, unit string) []string {
	opts := []string{fmt.Sprintf("--gpu-architecture=sm_%d", arch), "--std=c++17", "-default-device",
		"--prec-div=true", "--prec-sqrt=true", "--ftz=false"}
	if t, ok := strings.CutPrefix(unit, "mat_"); ok {
		opts = append(opts, "-DMAT_"+strings.ToUpper(t))
	}
	return opts
}

// CacheKey names a compiled unit of a source for a GPU architecture,
// driver and NVRTC version: a change of any of them compiles anew.
func CacheKey(source, unit string, arch int, driverVersion int, nvrtcVersion string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00sm_%d\x00driver %d\x00nvrtc %s\x00%s", source, arch, driverVersion, nvrtcVersion,
		strings.Join(CompileOptions(arch, unit), " "))
	return unit + "-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// cacheDir is where compiled kernels are kept: $MRUN_CACHE/cuda, else the
// user cache directory's metalgraph/cuda ("" when neither exists).
func cacheDir() string {
	if d := os.Getenv("MRUN_CACHE"); d != "" {
		return filepath.Join(d, "cuda")
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "metalgraph", "cuda")
}

// cachedCubin returns the CUBIN of key from dir, or compiles it with build
// and stores it there. A cache that cannot be read or written only costs a
// compile: the file is written to a temporary name and renamed, so a
// reader never sees half of one.
func cachedCubin(dir, key string, build func() ([]byte, error)) (cubin []byte, cached bool, err error) {
	path := ""
	if dir != "" {
		path = filepath.Join(dir, key+".cubin")
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b, true, nil
		}
	}
	cubin, err = build()
	if err != nil || path == "" {
		return cubin, false, err
	}
	if os.MkdirAll(dir, 0o755) == nil {
		if f, err := os.CreateTemp(dir, key+".*.tmp"); err == nil {
			_, werr := f.Write(cubin)
			cerr := f.Close()
			if werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
				os.Remove(f.Name())
			}
		}
	}
	return cubin, false, nil
}
