package mistral

import (
	"fmt"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/quant"
)

// Config holds the hyperparameters of a Llama/Mistral model.
type Config struct {
	Arch     string // "llama" or "mistral"
	Name     string // general.name, for display
	Dim      int    // embedding length
	Layers   int    // transformer blocks
	Heads    int    // query heads
	KVHeads  int    // key/value heads (GQA when fewer than Heads)
	HeadDim  int
	FFN      int // feed-forward hidden size
	Vocab    int
	Eps      float32 // RMS norm epsilon
	RopeDims int     // rotated dims per head
	RopeBase float32
	// RopeScale multiplies positions (1/factor of linear rope scaling).
	RopeScale float32
	// Context is the number of positions the KV cache holds; it starts as
	// the model's trained context and may be lowered to save memory.
	Context int
	// Window limits attention to the last Window positions (0 = none).
	Window int
	// TiedEmbeddings: the output projection reuses token_embd.weight.
	TiedEmbeddings bool
	// KVType is the KV cache's element type, F32 or F16.
	KVType quant.Type
}

// ConfigFromGGUF reads the hyperparameters from a GGUF file's metadata.
// Missing optional keys take llama.cpp's defaults.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch := f.Architecture()
	if arch != "llama" && arch != "mistral" {
		if arch == "" {
			return Config{}, fmt.Errorf("model has no general.architecture key")
		}
		return Config{}, fmt.Errorf("architecture %q is not supported (want llama or mistral)", arch)
	}
	c := Config{Arch: arch, RopeBase: 10000, RopeScale: 1, Eps: 1e-5, KVType: quant.F32}
	c.Name, _ = f.String("general.name")
	key := func(k string) string { return arch + "." + k }
	ints := []struct {
		key string
		dst *int
	}{
		{"embedding_length", &c.Dim},
		{"block_count", &c.Layers},
		{"feed_forward_length", &c.FFN},
		{"attention.head_count", &c.Heads},
		{"context_length", &c.Context},
	}
	for _, it := range ints {
		v, err := f.Uint(key(it.key))
		if err != nil {
			return Config{}, err
		}
		if v == 0 || v > 1<<24 {
			return Config{}, fmt.Errorf("%s = %d is out of range", key(it.key), v)
		}
		*it.dst = int(v)
	}
	c.KVHeads = c.Heads
	optional := []struct {
		key string
		dst *int
	}{
		{"attention.head_count_kv", &c.KVHeads},
		{"attention.sliding_window", &c.Window},
	}
	for _, it := range optional {
		if f.Has(key(it.key)) {
			v, err := f.Uint(key(it.key))
			if err != nil {
				return Config{}, err
			}
			if v > 1<<24 {
				return Config{}, fmt.Errorf("%s = %d is out of range", key(it.key), v)
			}
			*it.dst = int(v)
		}
	}
	if c.Heads > 0 {
		c.HeadDim = c.Dim / c.Heads
	}
	if f.Has(key("attention.key_length")) {
		v, err := f.Uint(key("attention.key_length"))
		if err != nil {
			return Config{}, err
		}
		c.HeadDim = int(v)
	}
	c.RopeDims = c.HeadDim
	if f.Has(key("rope.dimension_count")) {
		v, err := f.Uint(key("rope.dimension_count"))
		if err != nil {
			return Config{}, err
		}
		c.RopeDims = int(v)
	}
	floats := []struct {
		key string
		dst *float32
	}{
		{"attention.layer_norm_rms_epsilon", &c.Eps},
		{"rope.freq_base", &c.RopeBase},
	}
	for _, it := range floats {
		if f.Has(key(it.key)) {
			v, err := f.Float(key(it.key))
			if err != nil {
				return Config{}, err
			}
			*it.dst = float32(v)
		}
	}
	if t, _ := f.String(key("rope.scaling.type")); t == "linear" {
		factor, err := f.Float(key("rope.scaling.factor"))
		if err != nil {
			return Config{}, err
		}
		if factor > 0 {
			c.RopeScale = float32(1 / factor)
		}
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return Config{}, fmt.Errorf("missing tensor token_embd.weight")
	}
	if len(emb.Dims) == 2 {
		c.Vocab = int(emb.Dims[1])
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TiedEmbeddings = !hasOutput
	return c, c.Validate()
}

// Validate checks that the hyperparameters are consistent.
func (c Config) Validate() error {
	switch {
	case c.Dim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FFN <= 0 || c.Vocab <= 0:
		return fmt.Errorf("config: sizes must be positive: dim %d, layers %d, heads %d, kv heads %d, ffn %d, vocab %d",
			c.Dim, c.Layers, c.Heads, c.KVHeads, c.FFN, c.Vocab)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("config: %d query heads are not a multiple of %d KV heads", c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.HeadDim*c.Heads != c.Dim:
		return fmt.Errorf("config: %d heads of %d do not make the embedding length %d", c.Heads, c.HeadDim, c.Dim)
	case c.RopeDims <= 0 || c.RopeDims > c.HeadDim || c.RopeDims%2 != 0:
		return fmt.Errorf("config: rope dimension count %d must be even and at most the head size %d", c.RopeDims, c.HeadDim)
	case c.Context <= 0:
		return fmt.Errorf("config: context length %d must be positive", c.Context)
	case c.KVType != quant.F32 && c.KVType != quant.F16:
		return fmt.Errorf("config: KV cache type %s must be F32 or F16", c.KVType)
	case c.Eps <= 0:
		return fmt.Errorf("config: rms epsilon %g must be positive", c.Eps)
	}
	return nil
}
