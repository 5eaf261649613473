package cudart

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
)

// Most dispatches are one launch of their contract's kernel. The int8
// matmuls (Q4_0, Q8_0 on the tensor cores) are two: quantize_q8 first
// quantises the activations once into the program's scratch buffer, then
// every block of the matmul reads them from there, instead of each block
// quantising the activations of its tokens again for its own rows.
const quantizeKernel = "quantize_q8"

// RuntimeKernels are the entry points that serve no plan contract but a
// step the runtime adds, with their parameters as the kernels declare them.
var RuntimeKernels = map[string][]string{
	quantizeKernel: {"const float *x", "u8 *xq", "float *xd", "const EltParams p"},
}

// quantizedArgs are the parameters the int8 matmuls take after the
// contract's: where quantize_q8 left their activations.
var quantizedArgs = []string{"const u8 *xq", "const float *xd"}

// ExtraArgs are the parameters a contract's kernel takes after its
// contract's parameter struct.
func ExtraArgs(c plan.Contract) []string {
	if quantizesActivations(c) {
		return quantizedArgs
	}
	return nil
}

func quantizesActivations(c plan.Contract) bool {
	v, _, _ := strings.Cut(c.Family, "@")
	return v == "matmul" && int8Dot(c.Weight)
}

// Step is one kernel launch: Args is cudart's packed argument layout
// (args.go) over device addresses.
type Step struct {
	Kernel string
	Launch Launch
	Args   []byte
}

// ScratchBytes is the size of the scratch buffer a dispatch's steps use
// (zero for most); a program's scratch serves each dispatch in turn.
func ScratchBytes(d *plan.Dispatch) int64 {
	c, err := plan.Lookup(d.Kernel)
	if err != nil || !quantizesActivations(c) {
		return 0
	}
	q, dsz := quantizedSizes(d.Params)
	return q + dsz
}

// quantizedSizes are the bytes of a matmul's quantised activations (one
// int8 per value, rounded up to 256 so the scales that follow are
// aligned) and of their scales (a float per 32 values).
func quantizedSizes(p plan.Params) (values, scales int64) {
	_, n := matShape(p)
	count := int64(n) * int64(matCols(p))
	return (count + 255) / 256 * 256, count / 32 * 4
}

func matCols(p plan.Params) int32 {
	if q, ok := p.(plan.QKVParams); ok {
		return q.Cols
	}
	return p.(plan.MatParams).Cols
}

// Steps lays out the launches of dispatch d, whose bindings resolve to
// the device addresses ptrs, with the program's scratch buffer at scratch
// (ScratchBytes(d) bytes).
func Steps(d *plan.Dispatch, ptrs []uint64, scratch uint64) ([]Step, error) {
	l, err := Geometry(d)
	if err != nil {
		return nil, err
	}
	if len(ptrs) != len(d.Bindings) {
		return nil, fmt.Errorf("cudart: %s (%s): %d addresses for %d bindings", d.Kernel, d.Node, len(ptrs), len(d.Bindings))
	}
	c, _ := plan.Lookup(d.Kernel) // Geometry looked it up
	if !quantizesActivations(c) {
		return []Step{{d.Kernel, l, packArgs(ptrs, d.Params)}}, nil
	}
	x := slices.IndexFunc(c.Roles, func(r plan.Role) bool { return r.Name == "x" })
	values, _ := quantizedSizes(d.Params)
	xq, xd := scratch, scratch+uint64(values)
	_, n := matShape(d.Params)
	blocks := int(n) * int(matCols(d.Params)) / 32
	quantize := Step{quantizeKernel, flat(ceil(int32(blocks), eltThreads/32), 1, eltThreads),
		packArgs([]uint64{ptrs[x], xq, xd}, plan.EltParams{Count: int32(blocks)})}
	return []Step{quantize, {d.Kernel, l, packArgs(ptrs, d.Params, xq, xd)}}, nil
}

// packArgs lays out the arguments of a kernel whose bindings resolve to
// the device addresses ptrs, then its parameters, then the pointers tail
// (each at an 8-byte offset, as the kernel ABI aligns them).
func packArgs(ptrs []uint64, params plan.Params, tail ...uint64) []byte {
	buf := make([]byte, 8*len(ptrs), 8*(len(ptrs)+len(tail))+32)
	for i, p := range ptrs {
		binary.LittleEndian.PutUint64(buf[8*i:], p)
	}
	buf = append(buf, plan.Encode(params)...)
	if len(tail) > 0 {
		buf = append(buf, make([]byte, (8-len(buf)%8)%8)...)
		for _, p := range tail {
			buf = binary.LittleEndian.AppendUint64(buf, p)
		}
	}
	return buf
}
