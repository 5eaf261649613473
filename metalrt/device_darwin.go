//go:build darwin

package metalrt

/*
#cgo LDFLAGS: -framework Metal -framework CoreGraphics
// darwinkit has no binding for this C function; it returns a +1 id<MTLDevice>.
extern void *MTLCreateSystemDefaultDevice(void);
static void *defaultDevice(void) { return MTLCreateSystemDefaultDevice(); }
*/
import "C"

import (
	"errors"

	"github.com/progrium/darwinkit/macos/metal"
	"github.com/progrium/darwinkit/objc"
)

// defaultDevice returns the system's Metal device (+1: the caller releases it).
func defaultDevice() (metal.DeviceObject, error) {
	dev := metal.DeviceObject{Object: objc.ObjectFrom(C.defaultDevice())}
	if dev.IsNil() {
		return dev, errors.New("metal backend: no Metal device on this Mac")
	}
	return dev, nil
}

// Available reports whether this Mac has a Metal device.
func Available() bool {
	dev, err := defaultDevice()
	if err != nil {
		return false
	}
	dev.Release()
	return true
}
