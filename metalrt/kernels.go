package metalrt

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed kernels/*.metal
var kernelFiles embed.FS

// commonFile holds the definitions every other kernel file uses.
const commonFile = "common.metal"

// LanguageVersion is the MSL version the kernels are written for; the
// darwin runtime compiles with it, fast math off.
const LanguageVersion = "3.1"

// KernelFile is one embedded MSL source file.
type KernelFile struct {
	Name   string // e.g. "matvec.metal"
	Source string
}

// KernelFiles returns the embedded MSL files in library order: common.metal
// first, then the others by name.
func KernelFiles() ([]KernelFile, error) {
	entries, err := fs.ReadDir(kernelFiles, "kernels")
	if err != nil {
		return nil, fmt.Errorf("metalrt: embedded kernels: %w", err)
	}
	var out []KernelFile
	for _, e := range entries {
		b, err := kernelFiles.ReadFile("kernels/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("metalrt: embedded kernels: %w", err)
		}
		out = append(out, KernelFile{Name: e.Name(), Source: string(b)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Name == commonFile) != (out[j].Name == commonFile) {
			return out[i].Name == commonFile
		}
		return out[i].Name < out[j].Name
	})
	if len(out) == 0 || out[0].Name != commonFile {
		return nil, fmt.Errorf("metalrt: embedded kernels lack %s", commonFile)
	}
	return out, nil
}

// LibrarySource is the one MSL source the runtime compiles into a library:
// every kernel file, common.metal first, each introduced by a #line
// directive so compiler messages name the file and line they come from.
func LibrarySource() (string, error) {
	files, err := KernelFiles()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "#line 1 \"%s\"\n%s", f.Name, f.Source)
	}
	return b.String(), nil
}
