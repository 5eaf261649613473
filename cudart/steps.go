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
// quantising the activations of its tokens again for its own rows. A
// split decode attention (attnSplits > 1) is two as well: attn_decode
// leaves each split's partial in the scratch, then attn_decode_reduce
// merges them into out.
const (
	quantizeKernel   = "quantize_q8"
	attnReduceKernel = "attn_decode_reduce"
)

// RuntimeKernels are the entry points that serve no plan contract but a
// step the runtime adds, with their parameters as the kernels declare them.
var RuntimeKernels = map[string][]string{
	quantizeKernel:   {"const float *x", "u8 *xq", "float *xd", "const EltParams p"},
	attnReduceKernel: {"const float *part", "float *out", "const AttnParams p", "const EltParams splits"},
}

// quantizedArgs are the parameters the int8 matmuls take after the
// contract's: where quantize_q8 left their activations.
var quantizedArgs = []string{"const u8 *xq", "const float *xd"}

// partialArgs is the parameter attn_decode takes after the contract's:
// where its splits leave their partials (unread with a single split).
var partialArgs = []string{"float *part"}

// ExtraArgs are the parameters a contract's kernel takes after its
// contract's parameter struct.
func ExtraArgs(c plan.Contract) []string {
	switch {
	case quantizesActivations(c):
		return quantizedArgs
	case c.Family == "attn_decode":
		return partialArgs
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
	if err != nil {
		return 0
	}
	if p, ok := d.Params.(plan.AttnParams); ok && c.Family == "attn_decode" {
		return partialsBytes(p, attnSplits(p))
	}
	if !quantizesActivations(c) {
		return 0
	}
	q, dsz := quantizedSizes(d.Params)
	return q + dsz
}

// partialsBytes is the size of attn_decode's partials over s splits: per
// token, head and split a running max, sum and head_dim accumulators;
// none for a single split, which writes out directly.
func partialsBytes(p plan.AttnParams, s int) int64 {
	if s == 1 {
		return 0
	}
	return int64(p.N) * int64(p.Heads) * int64(s) * (int64(p.HeadDim) + 2) * 4
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
	if c.Family == "attn_decode" {
		return attnDecodeSteps(c, d, l, ptrs, scratch), nil
	}
	if !quantizesActivations(c) {
		return []Step{{d.Kernel, l, packArgs(ptrs, d.Params)}}, nil
	}
	x := roleIndex(c, "x")
	values, _ := quantizedSizes(d.Params)
	xq, xd := scratch, scratch+uint64(values)
	_, n := matShape(d.Params)
	blocks := int(n) * int(matCols(d.Params)) / 32
	quantize := Step{quantizeKernel, flat(ceil(int32(blocks), eltThreads/32), 1, eltThreads),
		packArgs([]uint64{ptrs[x], xq, xd}, plan.EltParams{Count: int32(blocks)})}
	return []Step{quantize, {d.Kernel, l, packArgs(ptrs, d.Params, xq, xd)}}, nil
}

// attnDecodeSteps is attn_decode with launch l, then, where it has more
// than one split, attn_decode_reduce over its partials in the scratch: a
// block per (head, token) and a thread per element of the head.
func attnDecodeSteps(c plan.Contract, d *plan.Dispatch, l Launch, ptrs []uint64, scratch uint64) []Step {
	attn := Step{d.Kernel, l, packArgs(ptrs, d.Params, scratch)}
	splits := l.Grid[2]
	if splits == 1 {
		return []Step{attn}
	}
	p := d.Params.(plan.AttnParams)
	args := packArgs([]uint64{scratch, ptrs[roleIndex(c, "out")]}, p)
	args = append(args, plan.Encode(plan.EltParams{Count: int32(splits)})...)
	reduce := Step{attnReduceKernel, flat(int(p.Heads), int(p.N), roundUp(int(p.HeadDim), 32)), args}
	return []Step{attn, reduce}
}

func roleIndex(c plan.Contract, name string) int {
	return slices.IndexFunc(c.Roles, func(r plan.Role) bool { return r.Name == name })
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
