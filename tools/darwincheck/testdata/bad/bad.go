//go:build darwin

// Package bad is a darwincheck fixture with the mistakes the checker must
// catch in darwin-only code.
package bad

import (
	"github.com/progrium/darwinkit/macos/metal"
)

// EndEncoding lives on CommandEncoderObject, not on the compute encoder.
func finish(enc metal.ComputeCommandEncoderObject) {
	enc.EndEncoding()
}

// MaxBufferLength is a uint.
func limit(dev metal.DeviceObject) int {
	return dev.MaxBufferLength()
}
