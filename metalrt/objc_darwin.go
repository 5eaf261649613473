//go:build darwin

package metalrt

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/progrium/darwinkit/macos/foundation"
	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"
)

// The messages below take protocol-typed objects (or a nil block), whose
// darwinkit wrappers panic, or are missing from darwinkit's type: they are
// sent with objc.Call and the selectors of selectors.go, and nowhere else.
// A step's messages are sent by the C replay (replay_darwin.go).

var (
	sNewPipeline = objc.Sel(selNewPipeline)
	sNoCopy      = objc.Sel(selNoCopy)
	sEndEncoding = objc.Sel(selEndEncoding)
)

// newPipeline makes the compute pipeline of a function (+1).
func newPipeline(dev metal.DeviceObject, f metal.FunctionObject) (metal.ComputePipelineStateObject, error) {
	var nsErr unsafe.Pointer // NSError** out-parameter
	ps := objc.Call[metal.ComputePipelineStateObject](dev, sNewPipeline, f, unsafe.Pointer(&nsErr))
	if ps.IsNil() {
		return ps, fmt.Errorf("%s", errorText(nsErr))
	}
	return ps, nil
}

// newNoCopyBuffer wraps n bytes of page-aligned memory at p (+1). The
// deallocator is an untyped nil: the memory belongs to the file mapping.
func newNoCopyBuffer(dev metal.DeviceObject, p unsafe.Pointer, n int64, opts metal.ResourceOptions) metal.BufferObject {
	return objc.Call[metal.BufferObject](dev, sNoCopy, p, uint(n), opts, nil)
}

func endEncoding(enc objc.Object) {
	objc.Call[objc.Void](enc, sEndEncoding)
}

// withPool runs f in an autorelease pool, for the Objective-C objects that
// darwinkit's calls autorelease. A panic in f (a darwinkit wrapper given a
// nil object) becomes an error: it would otherwise unwind through the
// pool's C frame and end the process.
func withPool(f func() error) (err error) {
	objc.WithAutoreleasePool(func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("metalrt: %v", p)
			}
		}()
		err = f()
	})
	return err
}

// respondsToAll fails naming the selectors obj does not implement: an
// unknown selector would abort the process when sent.
func respondsToAll(obj objc.Object, what string, sels []string) error {
	var missing []string
	for _, name := range sels {
		if !obj.RespondsToSelector(objc.Sel(name)) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("metal backend: the %s does not respond to %s", what, strings.Join(missing, ", "))
	}
	return nil
}

// errorText describes an NSError* that Metal may have left nil.
func errorText(nsErr unsafe.Pointer) string {
	if nsErr == nil {
		return "no error description"
	}
	return foundation.ErrorFrom(nsErr).LocalizedDescription()
}
