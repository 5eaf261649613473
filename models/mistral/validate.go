package mistral

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/metalgraph/metalgraph/quant"
)

// maxBytes bounds the memory a model may ask for (its KV cache at the
// trained context): 1 PiB is beyond any machine, and far enough below 2^63
// that sums and offsets of such sizes cannot overflow.
const maxBytes = 1 << 50

// Validate checks that the hyperparameters are consistent and finite.
// Every size is at most maxSize, so products of two sizes (a weight's
// elements, heads × head dim) cannot overflow; longer products are
// computed with overflow checks. Errors name the GGUF key at fault.
func (c Config) Validate() error {
	if err := c.validateSizes(); err != nil {
		return err
	}
	// NaN fails every comparison, so each test is written to pass only for
	// a number in range.
	switch {
	case !(c.Eps > 0 && c.Eps < 1):
		return fmt.Errorf("%s = %v: want a positive number below 1", archKey(c.Arch, "attention.layer_norm_rms_epsilon"), c.Eps)
	case !positiveFinite(c.RopeBase):
		return fmt.Errorf("%s = %v: want a positive finite number", archKey(c.Arch, "rope.freq_base"), c.RopeBase)
	case !positiveFinite(c.RopeScale):
		return fmt.Errorf("rope frequency scale %v (1/%s) must be positive and finite", c.RopeScale, archKey(c.Arch, "rope.scaling.factor"))
	}
	return nil
}

func (c Config) validateSizes() error {
	for _, v := range []int{c.Dim, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Vocab, c.Context, c.RopeDims} {
		if v < 1 || v > maxSize {
			return fmt.Errorf("config: sizes must be between 1 and %d: dim %d, layers %d, heads %d, kv heads %d, head dim %d, ffn %d, vocab %d, context %d, rope dims %d",
				maxSize, c.Dim, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FFN, c.Vocab, c.Context, c.RopeDims)
		}
	}
	q, _ := product(maxSize, c.Heads, c.HeadDim)
	switch {
	case c.Window < 0 || c.Window > maxSize:
		return fmt.Errorf("config: sliding window %d must be between 0 and %d", c.Window, maxSize)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("%s = %d: %d query heads are not a multiple of %d KV heads",
			archKey(c.Arch, "attention.head_count_kv"), c.KVHeads, c.Heads, c.KVHeads)
	case q != c.Dim:
		return fmt.Errorf("config: %d heads of %d do not make the embedding length %d", c.Heads, c.HeadDim, c.Dim)
	case c.RopeDims > c.HeadDim || c.RopeDims%2 != 0:
		return fmt.Errorf("%s = %d must be even and at most the head size %d", archKey(c.Arch, "rope.dimension_count"), c.RopeDims, c.HeadDim)
	case c.KVType != quant.F32 && c.KVType != quant.F16:
		return fmt.Errorf("config: KV cache type %s must be F32 or F16", c.KVType)
	}
	if _, ok := product(maxBytes, 2, c.Layers, c.Context, c.KVHeads, c.HeadDim, c.KVType.BlockBytes()); !ok {
		return fmt.Errorf("config: the KV cache of %s = %d positions × %d blocks × %d KV heads × %d dims would exceed 1 PiB",
			archKey(c.Arch, "context_length"), c.Context, c.Layers, c.KVHeads, c.HeadDim)
	}
	return nil
}

func positiveFinite(x float32) bool { return x > 0 && !math.IsInf(float64(x), 1) }

// product multiplies non-negative sizes; ok is false when the product
// exceeds limit, so that hostile sizes cannot wrap around to a plausible
// value (8 heads of 2^62+8 make 64 in int64 arithmetic).
func product(limit int, xs ...int) (p int, ok bool) {
	acc := uint64(1)
	for _, x := range xs {
		if x < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(acc, uint64(x))
		if hi != 0 || lo > uint64(limit) {
			return 0, false
		}
		acc = lo
	}
	return int(acc), true
}

// archKey is the GGUF key of an architecture's hyperparameter.
func archKey(arch, k string) string { return arch + "." + k }
