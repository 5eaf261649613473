//go:build darwin

package good

import (
	"fmt"
	"unsafe"

	"github.com/progrium/darwinkit/macos/foundation"
	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"
)

// msl31 is MSL 3.1; darwinkit v0.5.0 stops at LanguageVersion2_4.
const msl31 = metal.LanguageVersion(3<<16 | 1)

// Pipeline compiles src and returns the pipeline of its kernel fn.
func Pipeline(dev metal.DeviceObject, src, fn string) (metal.ComputePipelineStateObject, error) {
	opts := metal.NewCompileOptions()
	defer opts.Release()
	opts.SetLanguageVersion(msl31)
	opts.SetFastMathEnabled(false)

	var nsErr unsafe.Pointer // NSError**: Metal writes an autoreleased NSError here
	lib := dev.NewLibraryWithSourceOptionsError(src, opts, unsafe.Pointer(&nsErr))
	if lib.IsNil() {
		return metal.ComputePipelineStateObject{}, fmt.Errorf("compiling MSL: %s", foundation.ErrorFrom(nsErr).LocalizedDescription())
	}
	defer lib.Release()
	f := lib.NewFunctionWithName(fn)
	if f.IsNil() {
		return metal.ComputePipelineStateObject{}, fmt.Errorf("no kernel %q in library %v", fn, lib.FunctionNames())
	}
	defer f.Release()
	// The wrapper NewComputePipelineStateWithFunctionError panics (protocol-typed argument).
	nsErr = nil
	ps := objc.Call[metal.ComputePipelineStateObject](dev, objc.Sel("newComputePipelineStateWithFunction:error:"), f, unsafe.Pointer(&nsErr))
	if ps.IsNil() {
		return ps, fmt.Errorf("pipeline %s: %s", fn, foundation.ErrorFrom(nsErr).LocalizedDescription())
	}
	return ps, nil
}

// NoCopyBuffer wraps page-aligned memory without copying it.
func NoCopyBuffer(dev metal.DeviceObject, p unsafe.Pointer, n uint) (metal.BufferObject, error) {
	if n > dev.MaxBufferLength() {
		return metal.BufferObject{}, fmt.Errorf("buffer of %d bytes exceeds the device maximum %d", n, dev.MaxBufferLength())
	}
	// An untyped nil deallocator: the wrapper would turn a nil func into a block that crashes.
	buf := objc.Call[metal.BufferObject](dev, objc.Sel("newBufferWithBytesNoCopy:length:options:deallocator:"),
		p, n, metal.ResourceStorageModeShared|metal.ResourceHazardTrackingModeUntracked, nil)
	if buf.IsNil() {
		return buf, fmt.Errorf("newBufferWithBytesNoCopy failed for %d bytes at %p", n, p)
	}
	return buf, nil
}

// Dispatch encodes one kernel over groups threadgroups, then a barrier, and
// runs the command buffer to completion.
func Dispatch(q metal.CommandQueueObject, ps metal.ComputePipelineStateObject, buf metal.BufferObject, params []byte, groups, threads uint64) (err error) {
	objc.WithAutoreleasePool(func() {
		cb := q.CommandBuffer()
		enc := cb.ComputeCommandEncoderWithDispatchType(metal.DispatchTypeConcurrent)
		objc.Call[objc.Void](enc, objc.Sel("setComputePipelineState:"), ps)
		objc.Call[objc.Void](enc, objc.Sel("setBuffer:offset:atIndex:"), buf, uint(0), uint(0))
		enc.SetBytesLengthAtIndex(unsafe.Pointer(&params[0]), uint(len(params)), 1)
		enc.DispatchThreadgroupsThreadsPerThreadgroup(metal.Size{Width: groups, Height: 1, Depth: 1}, metal.Size{Width: threads, Height: 1, Depth: 1})
		enc.MemoryBarrierWithScope(metal.BarrierScopeBuffers)
		metal.CommandEncoderObject{Object: enc.Object}.EndEncoding()
		cb.Commit()
		cb.WaitUntilCompleted()
		if cb.Status() == metal.CommandBufferStatusError {
			err = fmt.Errorf("command buffer failed: %s", cb.Error().LocalizedDescription())
		}
	})
	return err
}
