package cudart

import (
	"fmt"
	"unsafe"
)

// Kernel arguments go to cuLaunchKernel as one packed buffer
// (CU_LAUNCH_PARAM_BUFFER_POINTER): a device pointer (8 bytes) per binding
// in the contract's order, then the parameter struct, whose 4-byte fields
// need no padding after 8-byte pointers, then any pointers the kernel
// takes after it at the next 8-byte offset (packArgs in steps.go). This
// is the layout of the entry points' parameter lists (contract_test.go
// checks them).
const (
	launchParamEnd           = 0x00
	launchParamBufferPointer = 0x01
	launchParamBufferSize    = 0x02
)

// launchArgs holds one dispatch's packed arguments and the extra array
// that points at them. It lives on the Go heap, which does not move, as
// long as the program that launches it.
type launchArgs struct {
	buf   []byte
	size  uint64
	extra [5]uintptr
}

func newLaunchArgs(buf []byte) (*launchArgs, error) {
	if len(buf) == 0 {
		return nil, fmt.Errorf("cudart: a kernel without arguments")
	}
	a := &launchArgs{buf: buf, size: uint64(len(buf))}
	a.extra = [5]uintptr{
		launchParamBufferPointer, uintptr(unsafe.Pointer(&a.buf[0])),
		launchParamBufferSize, uintptr(unsafe.Pointer(&a.size)),
		launchParamEnd,
	}
	return a, nil
}
