package cpurt

import (
	"fmt"
	"unsafe"

	"github.com/metalgraph/metalgraph/plan"
)

// Kernels see bindings as typed slices laid over the buffers' bytes: no
// copies, and the weights buffer (the memory-mapped file) is only ever
// viewed through bindings that read.

func bytesOf(w []uint64) []byte {
	if len(w) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 8*len(w))
}

// viewOf lays a slice of T over b, which must be aligned for T.
func viewOf[T any](b []byte) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(b) == 0 {
		return []T{}, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(zero) != 0 {
		return nil, fmt.Errorf("is not aligned to %d bytes", unsafe.Alignof(zero))
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size), nil
}

// compiler builds the kernel of one dispatch and checks its bindings.
type compiler struct {
	p     *Program
	index int
	d     *plan.Dispatch
	c     plan.Contract
}

func (c *compiler) errorf(format string, args ...any) error {
	return fmt.Errorf("cpurt: plan %s dispatch %d (%s, node %s): %s",
		c.p.name, c.index, c.d.Kernel, c.d.Node, fmt.Sprintf(format, args...))
}

// bytes returns the first need bytes of binding i, checking that the
// binding holds them.
func (c *compiler) bytes(i int, need int64) ([]byte, error) {
	b := c.d.Bindings[i]
	role := c.c.Roles[i].Name
	if b.Write && b.Buffer == plan.Weights {
		return nil, c.errorf("binding %d (%s) writes the read-only weights buffer", i, role)
	}
	if need < 0 || b.Length < need {
		return nil, c.errorf("binding %d (%s, %s) has %d bytes, the parameters need %d", i, role, b.Value, b.Length, need)
	}
	buf := c.p.bufs[b.Buffer]
	if b.Offset < 0 || b.Offset+need > int64(len(buf)) {
		return nil, c.errorf("binding %d (%s) [%d:%d] lies outside the %d-byte %s buffer",
			i, role, b.Offset, b.Offset+need, len(buf), b.Buffer)
	}
	return buf[b.Offset : b.Offset+need : b.Offset+need], nil
}

func view[T any](c *compiler, i int, count int) ([]T, error) {
	var zero T
	raw, err := c.bytes(i, int64(count)*int64(unsafe.Sizeof(zero)))
	if err != nil {
		return nil, err
	}
	v, err := viewOf[T](raw)
	if err != nil {
		return nil, c.errorf("binding %d (%s) at offset %d %v", i, c.c.Roles[i].Name, c.d.Bindings[i].Offset, err)
	}
	return v, nil
}

func (c *compiler) f32(i, count int) ([]float32, error) { return view[float32](c, i, count) }
func (c *compiler) i32(i, count int) ([]int32, error)   { return view[int32](c, i, count) }
func (c *compiler) u16(i, count int) ([]uint16, error)  { return view[uint16](c, i, count) }

// step views the step-parameter binding (Pos0, N, KVLen).
func (c *compiler) step(i int) ([]int32, error) { return c.i32(i, 3) }

// positive checks that parameters are positive.
func (c *compiler) positive(names string, vals ...int32) error {
	for _, v := range vals {
		if v <= 0 {
			return c.errorf("parameters %s must be positive, got %v", names, vals)
		}
	}
	return nil
}
