//go:build linux

package cudart

import (
	"fmt"
	"strings"
	"unsafe"
)

// nvrtc holds the NVRTC entry points the runtime uses.
type nvrtc struct {
	path                   string
	nvrtcVersion           func(major, minor *int32) int32
	nvrtcCreateProgram     func(prog *uintptr, src, name string, numHeaders int32, headers, includeNames unsafe.Pointer) int32
	nvrtcCompileProgram    func(prog uintptr, numOptions int32, options unsafe.Pointer) int32
	nvrtcGetProgramLogSize func(prog uintptr, n *uint64) int32
	nvrtcGetProgramLog     func(prog uintptr, log *byte) int32
	nvrtcGetCUBINSize      func(prog uintptr, n *uint64) int32
	nvrtcGetCUBIN          func(prog uintptr, cubin *byte) int32
	nvrtcDestroyProgram    func(prog *uintptr) int32
	nvrtcGetErrorString    func(r int32) *byte
}

// loadNVRTC opens the first NVRTC library of the candidates.
func loadNVRTC(candidates []string) (*nvrtc, error) {
	lib, path, err := openFirst(candidates)
	if err != nil {
		return nil, fmt.Errorf("NVRTC (libnvrtc.so, the CUDA runtime compiler) was not found on the library path, in /usr/local/cuda*/lib64 or in pip's nvidia packages: %w", err)
	}
	n := &nvrtc{path: path}
	b := binder{lib: lib, path: path}
	b.fn(&n.nvrtcVersion, "nvrtcVersion")
	b.fn(&n.nvrtcCreateProgram, "nvrtcCreateProgram")
	b.fn(&n.nvrtcCompileProgram, "nvrtcCompileProgram")
	b.fn(&n.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize")
	b.fn(&n.nvrtcGetProgramLog, "nvrtcGetProgramLog")
	b.fn(&n.nvrtcGetCUBINSize, "nvrtcGetCUBINSize")
	b.fn(&n.nvrtcGetCUBIN, "nvrtcGetCUBIN")
	b.fn(&n.nvrtcDestroyProgram, "nvrtcDestroyProgram")
	b.fn(&n.nvrtcGetErrorString, "nvrtcGetErrorString")
	if b.err != nil {
		return nil, b.err
	}
	return n, nil
}

// version is NVRTC's "major.minor".
func (n *nvrtc) version() string {
	var ma, mi int32
	if n.nvrtcVersion(&ma, &mi) != 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", ma, mi)
}

func (n *nvrtc) fail(r int32, what string) error {
	return fmt.Errorf("NVRTC %s: %s", what, cString(n.nvrtcGetErrorString(r)))
}

// compile builds a unit of the source into a CUBIN for sm_<arch> with the
// options CompileOptions gives; a failed compile returns NVRTC's log.
func (n *nvrtc) compile(source, unit string, arch int) ([]byte, error) {
	var prog uintptr
	if r := n.nvrtcCreateProgram(&prog, source, unit+".cu", 0, nil, nil); r != 0 {
		return nil, n.fail(r, "create program")
	}
	defer n.nvrtcDestroyProgram(&prog)
	opts := CompileOptions(arch, unit)
	cs := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cs[i] = append([]byte(o), 0)
		ptrs[i] = &cs[i][0]
	}
	r := n.nvrtcCompileProgram(prog, int32(len(opts)), unsafe.Pointer(&ptrs[0]))
	if r != 0 {
		var size uint64
		log := ""
		if n.nvrtcGetProgramLogSize(prog, &size) == 0 && size > 1 {
			buf := make([]byte, size)
			if n.nvrtcGetProgramLog(prog, &buf[0]) == 0 {
				log = strings.TrimSpace(string(buf[:size-1]))
			}
		}
		return nil, fmt.Errorf("NVRTC compiling the %s kernels for sm_%d: %s\n%s", unit, arch, cString(n.nvrtcGetErrorString(r)), log)
	}
	var size uint64
	if r := n.nvrtcGetCUBINSize(prog, &size); r != 0 || size == 0 {
		return nil, n.fail(r, "CUBIN size")
	}
	cubin := make([]byte, size)
	if r := n.nvrtcGetCUBIN(prog, &cubin[0]); r != 0 {
		return nil, n.fail(r, "CUBIN")
	}
	return cubin, nil
}
