//go:build darwin

// Package good is a darwincheck fixture: darwin-only code over darwinkit in
// the shape the Metal runtime's glue takes. It must type-check cleanly.
package good

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

// DefaultDevice returns the system's Metal device.
func DefaultDevice() (metal.DeviceObject, error) {
	dev := metal.DeviceObject{Object: objc.ObjectFrom(C.defaultDevice())}
	if dev.IsNil() {
		return dev, errors.New("no Metal device")
	}
	return dev, nil
}
