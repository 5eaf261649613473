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

// Pipeline compiles src and returns the pipeline of its kernel fn. The
// autoreleased objects made on the way (options, NSStrings, NSErrors) are
// drained before it returns; the library, function and pipeline are +1.
func Pipeline(dev metal.DeviceObject, src, fn string) (ps metal.ComputePipelineStateObject, err error) {
	objc.WithAutoreleasePool(func() {
		opts := metal.NewCompileOptions() // autoreleased: not ours to Release
		opts.SetLanguageVersion(msl31)
		opts.SetFastMathEnabled(false)

		var nsErr unsafe.Pointer // the NSError** out-parameter
		lib := dev.NewLibraryWithSourceOptionsError(src, opts, unsafe.Pointer(&nsErr))
		if lib.IsNil() {
			err = fmt.Errorf("compiling MSL: %s", errorText(nsErr))
			return
		}
		defer lib.Release()
		f := lib.NewFunctionWithName(fn)
		if f.IsNil() {
			err = fmt.Errorf("no kernel %q in library %v", fn, lib.FunctionNames())
			return
		}
		defer f.Release()
		// The wrapper NewComputePipelineStateWithFunctionError panics (protocol-typed argument).
		nsErr = nil
		ps = objc.Call[metal.ComputePipelineStateObject](dev, objc.Sel("newComputePipelineStateWithFunction:error:"), f, unsafe.Pointer(&nsErr))
		if ps.IsNil() {
			err = fmt.Errorf("pipeline %s: %s", fn, errorText(nsErr))
		}
	})
	return ps, err
}

// errorText describes an NSError* that Metal may have left nil.
func errorText(nsErr unsafe.Pointer) string {
	if nsErr == nil {
		return "no error description"
	}
	return foundation.ErrorFrom(nsErr).LocalizedDescription()
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
			err = fmt.Errorf("command buffer failed: %s", errorText(cb.Error().Ptr()))
		}
	})
	return err
}
