package quant

import "fmt"

// Type is a tensor element type, numbered exactly as ggml numbers it, so
// that the id stored in a GGUF file converts directly.
type Type uint32

// The ggml type ids. Ids not listed here are unknown to this package.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	I8   Type = 24
	I16  Type = 25
	I32  Type = 26
	I64  Type = 27
	F64  Type = 28
	BF16 Type = 30
)

// QK_K is the number of elements in one K-quant super-block.
const QK_K = 256

// layout is the block geometry of a type: blockSize elements stored in
// blockBytes bytes. supported marks the types this package can decode.
type layout struct {
	name       string
	blockSize  int
	blockBytes int
	supported  bool
}

// layouts is indexed by type id (an array, not a map: RowBytes sits on
// hot paths). A zero blockSize marks an unknown id.
var layouts = [...]layout{
	F32:  {"F32", 1, 4, true},
	F16:  {"F16", 1, 2, true},
	BF16: {"BF16", 1, 2, true},
	Q4_0: {"Q4_0", 32, 18, true},
	Q4_1: {"Q4_1", 32, 20, false},
	Q5_0: {"Q5_0", 32, 22, false},
	Q5_1: {"Q5_1", 32, 24, false},
	Q8_0: {"Q8_0", 32, 34, true},
	Q8_1: {"Q8_1", 32, 36, false},
	Q2_K: {"Q2_K", QK_K, 84, false},
	Q3_K: {"Q3_K", QK_K, 110, false},
	Q4_K: {"Q4_K", QK_K, 144, true},
	Q5_K: {"Q5_K", QK_K, 176, true},
	Q6_K: {"Q6_K", QK_K, 210, true},
	Q8_K: {"Q8_K", QK_K, 292, true},
	I8:   {"I8", 1, 1, false},
	I16:  {"I16", 1, 2, false},
	I32:  {"I32", 1, 4, false},
	I64:  {"I64", 1, 8, false},
	F64:  {"F64", 1, 8, false},
}

// String returns ggml's name for the type, or "type(N)" for an unknown id.
func (t Type) String() string {
	if l, ok := lookup(t); ok {
		return l.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Known reports whether the block layout of t is known, so that sizes can
// be computed even for types this package cannot decode.
func (t Type) Known() bool {
	_, ok := lookup(t)
	return ok
}

func lookup(t Type) (layout, bool) {
	if int(t) >= len(layouts) || layouts[t].blockSize == 0 {
		return layout{}, false
	}
	return layouts[t], true
}

// Supported reports whether rows of t can be dequantised by this package.
func (t Type) Supported() bool { l, _ := lookup(t); return l.supported }

// BlockSize is the number of elements in one block (1 for plain floats).
func (t Type) BlockSize() int { l, _ := lookup(t); return l.blockSize }

// BlockBytes is the number of bytes one block occupies.
func (t Type) BlockBytes() int { l, _ := lookup(t); return l.blockBytes }

// ParseType maps a ggml type name such as "Q4_0" to its Type.
func ParseType(name string) (Type, error) {
	for t, l := range layouts {
		if l.blockSize != 0 && l.name == name {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}

// RowBytes returns the number of bytes a row of n elements of type t
// occupies. It fails for an unknown type, a row length that is not a whole
// number of blocks, or a size that would overflow.
func RowBytes(t Type, n int64) (int64, error) {
	l, ok := lookup(t)
	if !ok {
		return 0, fmt.Errorf("unknown tensor type id %d", uint32(t))
	}
	if n < 0 {
		return 0, fmt.Errorf("negative row length %d", n)
	}
	if n%int64(l.blockSize) != 0 {
		return 0, fmt.Errorf("%s row length %d is not a multiple of the block size %d", l.name, n, l.blockSize)
	}
	blocks := n / int64(l.blockSize)
	if blocks > (1<<62)/int64(l.blockBytes) {
		return 0, fmt.Errorf("%s row of %d elements is too large", l.name, n)
	}
	return blocks * int64(l.blockBytes), nil
}
