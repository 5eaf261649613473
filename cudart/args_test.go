package cudart

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/plan"
)

// TestPackArgs: pointers at 8-byte slots in binding order, then the
// parameter struct's bytes; the extra array points at the buffer and its
// size.
func TestPackArgs(t *testing.T) {
	p := plan.QKVParams{RowsQ: 4096, RowsKV: 1024, Cols: 4096, N: 1}
	ptrs := []uint64{0x7f0000001000, 0x7f0000002000, 0x7f0000003000, 0x10, 0x20, 0x30, 0x40}
	buf := packArgs(ptrs, p)
	require.Len(t, buf, 8*7+16)
	for i, want := range ptrs {
		require.Equal(t, want, binary.LittleEndian.Uint64(buf[8*i:]))
	}
	require.Equal(t, plan.Encode(p), buf[56:])
	require.Equal(t, uint32(1024), binary.LittleEndian.Uint32(buf[60:]), "rows_kv, second field")

	a, err := newLaunchArgs(buf)
	require.NoError(t, err)
	require.Equal(t, uintptr(launchParamBufferPointer), a.extra[0])
	require.Equal(t, uintptr(unsafe.Pointer(&buf[0])), a.extra[1])
	require.Equal(t, uintptr(launchParamBufferSize), a.extra[2])
	require.Equal(t, uintptr(unsafe.Pointer(&a.size)), a.extra[3])
	require.Equal(t, uint64(len(buf)), a.size)
	require.Equal(t, uintptr(launchParamEnd), a.extra[4])
	_, err = newLaunchArgs(nil)
	require.Error(t, err)
}
