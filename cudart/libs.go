package cudart

import (
	"os"
	"path/filepath"
	"sort"
)

// driverNames are the names the CUDA driver library is loaded by.
var driverNames = []string{"libcuda.so.1", "libcuda.so"}

// nvrtcCandidates lists where NVRTC may be, most likely first: the names
// the dynamic loader finds on the library path (CUDA 13 and 12), then
// $CUDA_HOME and $CUDA_PATH, /usr/local/cuda*, and pip's nvidia packages
// under the Python site directories. glob lists the files matching a
// pattern (filepath.Glob; tests pass a fake).
func nvrtcCandidates(env func(string) string, glob func(string) []string) []string {
	out := []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"}
	var roots []string
	for _, v := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if r := env(v); r != "" {
			roots = append(roots, r)
		}
	}
	roots = append(roots, "/usr/local/cuda")
	roots = append(roots, newestFirst(glob("/usr/local/cuda-*"))...)
	for _, r := range roots {
		for _, dir := range []string{"lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib"} {
			out = append(out, newestFirst(glob(filepath.Join(r, dir, "libnvrtc.so*")))...)
		}
	}
	var sites []string
	for _, pat := range []string{
		"/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages", "/usr/local/lib/python3*/dist-packages",
		"/usr/local/lib/python3*/site-packages", "/opt/conda/lib/python3*/site-packages",
	} {
		sites = append(sites, glob(pat)...)
	}
	if home := env("HOME"); home != "" {
		sites = append(sites, glob(filepath.Join(home, ".local/lib/python3*/site-packages"))...)
	}
	if venv := env("VIRTUAL_ENV"); venv != "" {
		sites = append(sites, glob(filepath.Join(venv, "lib/python3*/site-packages"))...)
	}
	for _, s := range sites {
		for _, dir := range []string{"nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"} {
			out = append(out, newestFirst(glob(filepath.Join(s, dir, "libnvrtc.so*")))...)
		}
	}
	return dedupe(out)
}

// newestFirst sorts paths so that higher versions come first.
func newestFirst(paths []string) []string {
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	return paths
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// defaultNVRTCCandidates searches this machine.
func defaultNVRTCCandidates() []string {
	return nvrtcCandidates(os.Getenv, func(p string) []string {
		m, _ := filepath.Glob(p)
		return m
	})
}
