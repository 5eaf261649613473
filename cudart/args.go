package cudart

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/metalgraph/metalgraph/plan"
)

// Kernel arguments go to cuLaunchKernel as one packed buffer
// (CU_LAUNCH_PARAM_BUFFER_POINTER): a device pointer (8 bytes) per binding
// in the contract's order, then the parameter struct, whose 4-byte fields
// need no padding after 8-byte pointers. This is the layout of the entry
// points' parameter lists (contract_test.go checks them).
const (
	launchParamEnd           = 0x00
	launchParamBufferPointer = 0x01
	launchParamBufferSize    = 0x02
)

// packArgs lays out the arguments of a dispatch whose bindings resolve to
// the device addresses ptrs.
func packArgs(ptrs []uint64, params plan.Params) []byte {
	pb := plan.Encode(params)
	buf := make([]byte, 8*len(ptrs)+len(pb))
	for i, p := range ptrs {
		binary.LittleEndian.PutUint64(buf[8*i:], p)
	}
	copy(buf[8*len(ptrs):], pb)
	return buf
}

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
