package mistral

import (
	"fmt"
	"math"

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
	// KVType is the KV cache's element type, F16 (the default, as
	// llama.cpp's) or F32.
	KVType quant.Type
}

// tokensKey is the tokenizer's vocabulary, one string per embedding row.
const tokensKey = "tokenizer.ggml.tokens"

// ConfigFromGGUF reads the hyperparameters from a GGUF file's metadata.
// Missing optional keys take llama.cpp's defaults. Every size is range
// checked as it is read, so errors name the key.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch := f.Architecture()
	if arch != "llama" && arch != "mistral" {
		if arch == "" {
			return Config{}, fmt.Errorf("model has no general.architecture key")
		}
		return Config{}, fmt.Errorf("architecture %q is not supported (want llama or mistral)", arch)
	}
	c := Config{Arch: arch, RopeBase: 10000, RopeScale: 1, Eps: 1e-5, KVType: quant.F16}
	c.Name, _ = f.String("general.name")
	m := &metadata{f: f, arch: arch}
	c.Dim = m.size("embedding_length", 1, required)
	c.Layers = m.size("block_count", 1, required)
	c.FFN = m.size("feed_forward_length", 1, required)
	c.Heads = m.size("attention.head_count", 1, required)
	c.Context = m.size("context_length", 1, required)
	c.KVHeads = m.size("attention.head_count_kv", 1, c.Heads)
	c.Window = m.size("attention.sliding_window", 0, 0)
	if c.Heads > 0 { // 0 only after an error, which is returned below
		c.HeadDim = m.size("attention.key_length", 1, c.Dim/c.Heads)
	}
	if v := m.size("attention.value_length", 1, c.HeadDim); m.err == nil && v != c.HeadDim {
		return Config{}, fmt.Errorf("%s = %d differs from the key length %d, which the llama architecture does not allow",
			m.key("attention.value_length"), v, c.HeadDim)
	}
	c.RopeDims = m.size("rope.dimension_count", 1, c.HeadDim)
	if experts := m.size("expert_count", 0, 0); m.err == nil && experts > 0 {
		return Config{}, fmt.Errorf("%s = %d: mixture-of-experts models are not supported", m.key("expert_count"), experts)
	}
	c.Eps = m.float("attention.layer_norm_rms_epsilon", c.Eps)
	c.RopeBase = m.float("rope.freq_base", c.RopeBase)
	c.RopeScale = m.ropeScale()
	if m.err != nil {
		return Config{}, m.err
	}
	var err error
	if c.Vocab, err = vocabulary(f, m); err != nil {
		return Config{}, err
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TiedEmbeddings = !hasOutput
	return c, c.Validate()
}

// vocabulary is the number of token_embd.weight rows, which the
// tokenizer's token list and the optional vocab_size key must agree with:
// a tokenizer smaller than the embedding would decode ids it has no piece
// for into garbage.
func vocabulary(f *gguf.File, m *metadata) (int, error) {
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		return 0, fmt.Errorf("missing tensor token_embd.weight")
	}
	if len(emb.Dims) != 2 {
		return 0, fmt.Errorf("tensor token_embd.weight has %d dimensions, want 2", len(emb.Dims))
	}
	rows := emb.Dims[1]
	if rows < 1 || rows > maxSize {
		return 0, fmt.Errorf("tensor token_embd.weight has %d rows, want 1 to %d", rows, maxSize)
	}
	if tokens, ok := f.Lookup(tokensKey); ok {
		if tokens.ElemType() != gguf.String {
			return 0, fmt.Errorf("key %s: is %s, want an array of strings", tokensKey, tokens.Type())
		}
		if int64(tokens.Len()) != rows {
			return 0, fmt.Errorf("%s holds %d tokens but token_embd.weight has %d rows: the tokenizer does not match the model",
				tokensKey, tokens.Len(), rows)
		}
	}
	n := m.size("vocab_size", 1, int(rows))
	if m.err != nil {
		return 0, m.err
	}
	if int64(n) != rows {
		return 0, fmt.Errorf("%s = %d but token_embd.weight has %d rows", m.key("vocab_size"), n, rows)
	}
	return int(rows), nil
}

// maxSize bounds every size read from metadata: far above any real model
// (vocabularies reach ~2^18 tokens, contexts ~2^23 positions) and low
// enough that the product of two sizes cannot overflow an int64.
const maxSize = 1 << 24

// required marks a key without a default for metadata.size.
const required = -1

// metadata reads one architecture's keys, keeping the first error so that
// ConfigFromGGUF reads as the list of keys it needs.
type metadata struct {
	f    *gguf.File
	arch string
	err  error
}

func (m *metadata) key(k string) string { return archKey(m.arch, k) }

// size reads the integer key k, which must lie in [least, maxSize]. An
// absent key gives def, or an error when def is required.
func (m *metadata) size(k string, least, def int) int {
	key := m.key(k)
	if m.err != nil {
		return 0
	}
	if !m.f.Has(key) {
		if def == required {
			m.err = fmt.Errorf("missing key %s", key)
		}
		return def
	}
	v, err := m.f.Uint(key)
	switch {
	case err != nil:
		m.err = err
	case v < uint64(least) || v > maxSize:
		m.err = fmt.Errorf("%s = %d is out of range (want %d to %d)", key, v, least, maxSize)
	}
	return int(min(v, maxSize))
}

// float reads the number at key k, or def when absent, as the float32 the
// model computes with. Whether the value makes sense is Validate's job.
func (m *metadata) float(k string, def float32) float32 {
	key := m.key(k)
	if m.err != nil || !m.f.Has(key) {
		return def
	}
	v, err := m.f.Float(key)
	if err != nil {
		m.err = err
	}
	return float32(v)
}

// ropeScale reads llama.cpp's rope scaling: the type defaults to linear,
// whose factor (rope.scaling.factor, or the older rope.scale_linear)
// divides positions; a factor of 0 or none means no scaling, and type
// "none" ignores it. Other types (yarn, longrope, llama3) change the
// frequencies in ways this model does not implement, so they are refused
// rather than run as plain rope with wrong output.
func (m *metadata) ropeScale() float32 {
	if m.err != nil {
		return 0
	}
	scaling, typeKey := "linear", m.key("rope.scaling.type")
	if m.f.Has(typeKey) {
		var err error
		if scaling, err = m.f.String(typeKey); err != nil {
			m.err = err
			return 0
		}
	}
	factor, factorKey := 0.0, ""
	for _, k := range []string{"rope.scaling.factor", "rope.scale_linear"} {
		if m.f.Has(m.key(k)) {
			factorKey = m.key(k)
			factor = float64(m.float(k, 0))
			break
		}
	}
	switch {
	case m.err != nil:
	case scaling != "linear" && scaling != "none":
		m.err = fmt.Errorf("%s = %q is not supported (want none or linear)", typeKey, scaling)
	case factorKey != "" && (!(factor >= 0) || math.IsInf(factor, 0)):
		m.err = fmt.Errorf("%s = %g: want a positive finite factor", factorKey, factor)
	case scaling == "linear" && factor > 0:
		return float32(1 / factor)
	}
	return 1
}
