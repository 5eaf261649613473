//go:build linux

package cudart

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// driver holds the CUDA driver API entry points, bound with purego: no
// cgo, so CGO_ENABLED=0 builds keep the CUDA backend.
type driver struct {
	cuInit                   func(flags uint32) cuResult
	cuDriverGetVersion       func(v *int32) cuResult
	cuDeviceGetCount         func(n *int32) cuResult
	cuDeviceGet              func(dev *int32, ordinal int32) cuResult
	cuDeviceGetAttribute     func(v *int32, attr int32, dev int32) cuResult
	cuDeviceGetName          func(name *byte, n int32, dev int32) cuResult
	cuDeviceTotalMem         func(bytes *uint64, dev int32) cuResult
	cuDevicePrimaryCtxRetain func(ctx *uintptr, dev int32) cuResult
	cuCtxSetCurrent          func(ctx uintptr) cuResult
	cuModuleLoadData         func(mod *uintptr, image unsafe.Pointer) cuResult
	cuModuleUnload           func(mod uintptr) cuResult
	cuModuleGetFunction      func(fn *uintptr, mod uintptr, name string) cuResult
	cuMemAlloc               func(p *uintptr, size uint64) cuResult
	cuMemFree                func(p uintptr) cuResult
	cuMemHostAlloc           func(p *unsafe.Pointer, size uint64, flags uint32) cuResult
	cuMemFreeHost            func(p unsafe.Pointer) cuResult
	cuMemcpyHtoD             func(dst uintptr, src unsafe.Pointer, n uint64) cuResult
	cuMemsetD8Async          func(dst uintptr, v uint8, n uint64, stream uintptr) cuResult
	cuStreamCreate           func(s *uintptr, flags uint32) cuResult
	cuStreamDestroy          func(s uintptr) cuResult
	cuStreamSynchronize      func(s uintptr) cuResult
	cuStreamBeginCapture     func(s uintptr, mode int32) cuResult
	cuStreamEndCapture       func(s uintptr, g *uintptr) cuResult
	cuGraphInstantiate       func(exec *uintptr, g uintptr, flags uint64) cuResult
	cuGraphDestroy           func(g uintptr) cuResult
	cuGraphExecDestroy       func(exec uintptr) cuResult
	cuGetErrorName           func(r cuResult, s **byte) cuResult
	cuEventCreate            func(e *uintptr, flags uint32) cuResult
	cuEventRecord            func(e, stream uintptr) cuResult
	cuEventSynchronize       func(e uintptr) cuResult
	cuEventElapsedTime       func(ms *float32, start, end uintptr) cuResult
	cuEventDestroy           func(e uintptr) cuResult

	// Called through SyscallN on the per-step path: no reflection.
	launchKernel, graphLaunch, memcpyHtoDAsync, memcpyDtoHAsync uintptr
}

// loadDriver opens the first of names that loads and binds every entry
// point the runtime uses.
func loadDriver(names []string) (*driver, error) {
	lib, path, err := openFirst(names)
	if err != nil {
		return nil, fmt.Errorf("the NVIDIA driver library (%s) is not installed or cannot be loaded: %w", names[0], err)
	}
	d := &driver{}
	b := binder{lib: lib, path: path}
	b.fn(&d.cuInit, "cuInit")
	b.fn(&d.cuDriverGetVersion, "cuDriverGetVersion")
	b.fn(&d.cuDeviceGetCount, "cuDeviceGetCount")
	b.fn(&d.cuDeviceGet, "cuDeviceGet")
	b.fn(&d.cuDeviceGetAttribute, "cuDeviceGetAttribute")
	b.fn(&d.cuDeviceGetName, "cuDeviceGetName")
	b.fn(&d.cuDeviceTotalMem, "cuDeviceTotalMem_v2")
	b.fn(&d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
	b.fn(&d.cuCtxSetCurrent, "cuCtxSetCurrent")
	b.fn(&d.cuModuleLoadData, "cuModuleLoadData")
	b.fn(&d.cuModuleUnload, "cuModuleUnload")
	b.fn(&d.cuModuleGetFunction, "cuModuleGetFunction")
	b.fn(&d.cuMemAlloc, "cuMemAlloc_v2")
	b.fn(&d.cuMemFree, "cuMemFree_v2")
	b.fn(&d.cuMemHostAlloc, "cuMemHostAlloc")
	b.fn(&d.cuMemFreeHost, "cuMemFreeHost")
	b.fn(&d.cuMemcpyHtoD, "cuMemcpyHtoD_v2")
	b.fn(&d.cuMemsetD8Async, "cuMemsetD8Async")
	b.fn(&d.cuStreamCreate, "cuStreamCreate")
	b.fn(&d.cuStreamDestroy, "cuStreamDestroy_v2")
	b.fn(&d.cuStreamSynchronize, "cuStreamSynchronize")
	b.fn(&d.cuStreamBeginCapture, "cuStreamBeginCapture_v2")
	b.fn(&d.cuStreamEndCapture, "cuStreamEndCapture")
	b.fn(&d.cuGraphInstantiate, "cuGraphInstantiateWithFlags")
	b.fn(&d.cuGraphDestroy, "cuGraphDestroy")
	b.fn(&d.cuGraphExecDestroy, "cuGraphExecDestroy")
	b.fn(&d.cuGetErrorName, "cuGetErrorName")
	b.fn(&d.cuEventCreate, "cuEventCreate")
	b.fn(&d.cuEventRecord, "cuEventRecord")
	b.fn(&d.cuEventSynchronize, "cuEventSynchronize")
	b.fn(&d.cuEventElapsedTime, "cuEventElapsedTime")
	b.fn(&d.cuEventDestroy, "cuEventDestroy_v2")
	d.launchKernel = b.sym("cuLaunchKernel")
	d.graphLaunch = b.sym("cuGraphLaunch")
	d.memcpyHtoDAsync = b.sym("cuMemcpyHtoDAsync_v2")
	d.memcpyDtoHAsync = b.sym("cuMemcpyDtoHAsync_v2")
	if b.err != nil {
		return nil, b.err
	}
	return d, nil
}

// openFirst dlopens the first name (a file name the loader searches for,
// or a path) that loads.
func openFirst(names []string) (lib uintptr, path string, err error) {
	if len(names) == 0 {
		return 0, "", fmt.Errorf("no candidate found")
	}
	for _, n := range names {
		lib, err = purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return lib, n, nil
		}
	}
	return 0, "", err
}

// binder binds symbols of one library, keeping the first error.
type binder struct {
	lib  uintptr
	path string
	err  error
}

func (b *binder) sym(name string) uintptr {
	if b.err != nil {
		return 0
	}
	p, err := purego.Dlsym(b.lib, name)
	if err != nil || p == 0 {
		b.err = fmt.Errorf("%s lacks %s: it is older than this runtime needs", b.path, name)
		return 0
	}
	return p
}

func (b *binder) fn(fptr any, name string) {
	if p := b.sym(name); p != 0 {
		purego.RegisterFunc(fptr, p)
	}
}

// cuResult is a CUresult.
type cuResult int32

// errorName is the driver's name of a result, e.g. CUDA_ERROR_OUT_OF_MEMORY.
func (d *driver) errorName(r cuResult) string {
	var s *byte
	if d.cuGetErrorName(r, &s) != 0 || s == nil {
		return fmt.Sprintf("CUresult %d", r)
	}
	return cString(s)
}

// check turns a result into an error naming the call.
func (d *driver) check(r cuResult, what string) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", what, d.errorName(r))
}

// launch is cuLaunchKernel with the arguments packed in one buffer
// (CU_LAUNCH_PARAM_BUFFER_POINTER), which must stay alive and unmoved: Go
// heap memory, kept by the caller.
func (d *driver) launch(fn uintptr, l Launch, stream uintptr, extra *[5]uintptr) cuResult {
	r, _, _ := purego.SyscallN(d.launchKernel, fn,
		uintptr(l.Grid[0]), uintptr(l.Grid[1]), uintptr(l.Grid[2]),
		uintptr(l.Block[0]), uintptr(l.Block[1]), uintptr(l.Block[2]),
		uintptr(l.Shared), stream, 0, uintptr(unsafe.Pointer(extra)))
	return cuResult(int32(r))
}

func (d *driver) call(fn uintptr, args ...uintptr) cuResult {
	r, _, _ := purego.SyscallN(fn, args...)
	return cuResult(int32(r))
}

// cString reads a NUL-terminated C string.
func cString(p *byte) string {
	var n int
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
