package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// blockScales are the byte offsets and names of the F16 scales of one block
// of each quantised weight type. Its quants are small integers, so a block
// decodes to finite values exactly when its scales are finite: checking
// the scales is checking every value, as ggml_validate_row_data does.
var blockScales = map[Type][]struct {
	offset int
	name   string
}{
	Q4_0: {{0, "d"}},
	Q8_0: {{0, "d"}},
	Q4_K: {{0, "d"}, {2, "dmin"}},
	Q5_K: {{0, "d"}, {2, "dmin"}},
	Q6_K: {{q6kD, "d"}},
}

// CheckFinite reports the first NaN or infinity in data, the bytes of a
// tensor of type t: for F32, F16 and BF16 the element's index; for a
// quantised type the block whose scale is bad and the elements it covers.
// It fails too for a type it cannot check and for data that is not a
// whole number of blocks.
func CheckFinite(t Type, data []byte) error {
	if len(data)%max(t.BlockBytes(), 1) != 0 {
		return fmt.Errorf("quant: %d bytes are not a whole number of %s blocks", len(data), t)
	}
	switch t {
	case F32:
		for i := 0; i < len(data); i += 4 {
			if b := binary.LittleEndian.Uint32(data[i:]); nonFinite32(b) {
				return fmt.Errorf("element %d is %v", i/4, math.Float32frombits(b))
			}
		}
	case F16:
		for i := 0; i < len(data); i += 2 {
			if h := binary.LittleEndian.Uint16(data[i:]); nonFinite16(h) {
				return fmt.Errorf("element %d is %v", i/2, FP16ToFP32(h))
			}
		}
	case BF16:
		for i := 0; i < len(data); i += 2 {
			if h := binary.LittleEndian.Uint16(data[i:]); nonFinite32(uint32(h) << 16) {
				return fmt.Errorf("element %d is %v", i/2, BF16ToFP32(h))
			}
		}
	default:
		scales, ok := blockScales[t]
		if !ok {
			return fmt.Errorf("quant: cannot check %s data for NaN and infinity", t)
		}
		bs, bb := t.BlockSize(), t.BlockBytes()
		for i := 0; i < len(data); i += bb {
			for _, s := range scales {
				if h := binary.LittleEndian.Uint16(data[i+s.offset:]); nonFinite16(h) {
					first := i / bb * bs
					return fmt.Errorf("%s block %d (elements %d to %d) has scale %s = %v",
						t, i/bb, first, first+bs-1, s.name, FP16ToFP32(h))
				}
			}
		}
	}
	return nil
}

// nonFinite32 reports whether float32 bits are NaN or ±Inf: all exponent
// bits set.
func nonFinite32(b uint32) bool { return b&0x7f800000 == 0x7f800000 }

// nonFinite16 is nonFinite32 for half-precision bits.
func nonFinite16(h uint16) bool { return h&0x7c00 == 0x7c00 }
