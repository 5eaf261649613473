package modelinfo

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/models/mistral"
	"github.com/metalgraph/metalgraph/quant"
)

// Info is everything `mrun inspect` reports about a GGUF file.
type Info struct {
	Path          string    `json:"path,omitempty"`
	Architecture  string    `json:"architecture"` // "" when general.architecture is absent
	Name          string    `json:"name,omitempty"`
	FileSize      int64     `json:"file_size"`
	GGUFVersion   uint32    `json:"gguf_version"`
	Alignment     int64     `json:"alignment"`
	DataOffset    int64     `json:"data_offset"`
	MetadataCount int       `json:"metadata_count"`
	FileType      *FileType `json:"file_type,omitempty"`

	// Hyperparameters are present for the architectures models/mistral
	// reads (llama, mistral); otherwise HyperparametersError says why not.
	Hyperparameters      *Hyperparameters `json:"hyperparameters,omitempty"`
	HyperparametersError string           `json:"hyperparameters_error,omitempty"`

	Tokenizer *Tokenizer `json:"tokenizer,omitempty"`

	TensorCount int         `json:"tensor_count"`
	TensorTypes []TypeCount `json:"tensor_types"`
	Parameters  int64       `json:"parameters"`
	TensorBytes int64       `json:"tensor_bytes"`
	// QuantMix names the dominant matrix type and the tensors that differ
	// from it, such as "Q4_0, output.weight Q6_K". F32 vectors (norms) are
	// not exceptions.
	QuantMix string `json:"quant_mix"`

	// Problem is why mrun run would refuse the model: the first error of
	// models/mistral's validation (hyperparameters, tensor names, shapes and
	// types). It is empty for a runnable model and for a vocabulary-only
	// file (no tensors), which is not meant to be run.
	Problem string `json:"problem,omitempty"`

	Memory  *Memory  `json:"memory,omitempty"`
	Tensors []Tensor `json:"tensors,omitempty"`
}

// FileType is general.file_type, llama.cpp's name for the file's mix.
type FileType struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"` // e.g. "MOSTLY_Q4_0"; "" when unknown
}

// Hyperparameters are the model's sizes as models/mistral reads them.
type Hyperparameters struct {
	Dim            int     `json:"embedding_length"`
	Layers         int     `json:"block_count"`
	Heads          int     `json:"head_count"`
	KVHeads        int     `json:"head_count_kv"`
	HeadDim        int     `json:"head_dim"`
	FFN            int     `json:"feed_forward_length"`
	Vocab          int     `json:"vocab_size"`
	Context        int     `json:"context_length"`
	RopeDims       int     `json:"rope_dimension_count"`
	RopeBase       float32 `json:"rope_freq_base"`
	RopeScale      float32 `json:"rope_scale"`
	Eps            float32 `json:"rms_norm_eps"`
	Window         int     `json:"sliding_window,omitempty"`
	TiedEmbeddings bool    `json:"tied_embeddings"`
}

// Tokenizer summarises the tokenizer.* metadata. Ids are -1 when absent.
type Tokenizer struct {
	Model     string `json:"model"`
	Pre       string `json:"pre,omitempty"`
	VocabSize int    `json:"vocab_size"`
	BOS       int64  `json:"bos_id"`
	EOS       int64  `json:"eos_id"`
	UNK       int64  `json:"unk_id"`
	BOSPiece  string `json:"bos_piece,omitempty"`
	EOSPiece  string `json:"eos_piece,omitempty"`
	UNKPiece  string `json:"unk_piece,omitempty"`
	AddBOS    bool   `json:"add_bos"`
	AddEOS    bool   `json:"add_eos"`
	// AddBOSDefault is set when add_bos_token is absent and AddBOS is
	// llama.cpp's default for the model (true for "llama").
	AddBOSDefault bool `json:"add_bos_default,omitempty"`
}

// TypeCount is how many tensors have one type and their bytes.
type TypeCount struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Bytes int64  `json:"bytes"`
}

// Tensor is one row of the tensor list.
type Tensor struct {
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Dims     []int64 `json:"dims"` // GGUF order: row length first
	Elements int64   `json:"elements"`
	Bytes    int64   `json:"bytes"`
	Offset   int64   `json:"offset"` // absolute file offset
}

// Inspect gathers the facts about f. It fails only when the file's own
// structure makes a fact unreadable; an unsupported architecture is
// reported in HyperparametersError instead, and a model that fails
// validation in Problem, beside every fact that could still be read.
func Inspect(f *gguf.File) (*Info, error) {
	i := &Info{
		Path:          f.Path(),
		Architecture:  f.Architecture(),
		FileSize:      f.Size(),
		GGUFVersion:   f.Version,
		Alignment:     f.Alignment,
		DataOffset:    f.DataOffset,
		MetadataCount: len(f.KVs),
		TensorCount:   len(f.Tensors),
	}
	i.Name, _ = f.String("general.name")
	if f.Has("general.file_type") {
		id, err := f.Int("general.file_type")
		if err != nil {
			return nil, err
		}
		i.FileType = &FileType{ID: id, Name: fileTypeName(id)}
	}
	tok, err := tokenizerInfo(f)
	if err != nil {
		return nil, err
	}
	i.Tokenizer = tok
	i.tensors(f)
	c, err := mistral.ConfigFromGGUF(f)
	if err != nil {
		i.HyperparametersError = err.Error()
		i.refuse(f, err)
		return i, nil
	}
	i.Hyperparameters = hyperparameters(c)
	w, err := mistral.BindWeights(f, c)
	if err != nil {
		i.refuse(f, err)
		return i, nil
	}
	if i.Memory, err = planMemory(f, c, w); err != nil {
		return nil, err
	}
	return i, nil
}

// refuse records why the model in f cannot run, unless f holds no tensors
// at all: a vocabulary-only file is complete as it is.
func (i *Info) refuse(f *gguf.File, err error) {
	if len(f.Tensors) > 0 {
		i.Problem = err.Error()
	}
}

func hyperparameters(c mistral.Config) *Hyperparameters {
	return &Hyperparameters{
		Dim: c.Dim, Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
		FFN: c.FFN, Vocab: c.Vocab, Context: c.Context, RopeDims: c.RopeDims,
		RopeBase: c.RopeBase, RopeScale: c.RopeScale, Eps: c.Eps, Window: c.Window,
		TiedEmbeddings: c.TiedEmbeddings,
	}
}

// tokenizerInfo reads the tokenizer summary, or nil when the file has no
// tokenizer.ggml.model key.
func tokenizerInfo(f *gguf.File) (*Tokenizer, error) {
	if !f.Has("tokenizer.ggml.model") {
		return nil, nil
	}
	model, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{Model: model}
	t.Pre, _ = f.String("tokenizer.ggml.pre")
	var tokens []string
	if f.Has("tokenizer.ggml.tokens") {
		if tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
			return nil, err
		}
	}
	t.VocabSize = len(tokens)
	ids := []struct {
		key   string
		id    *int64
		piece *string
	}{
		{"tokenizer.ggml.bos_token_id", &t.BOS, &t.BOSPiece},
		{"tokenizer.ggml.eos_token_id", &t.EOS, &t.EOSPiece},
		{"tokenizer.ggml.unknown_token_id", &t.UNK, &t.UNKPiece},
	}
	for _, it := range ids {
		*it.id = -1
		if !f.Has(it.key) {
			continue
		}
		v, err := f.Int(it.key)
		if err != nil {
			return nil, err
		}
		// 0xFFFFFFFF (stored as uint32) and negative ids mean "none".
		if v < 0 || v == 0xFFFFFFFF {
			continue
		}
		*it.id = v
		if v < int64(len(tokens)) {
			*it.piece = tokens[v]
		}
	}
	if f.Has("tokenizer.ggml.add_bos_token") {
		if t.AddBOS, err = f.Bool("tokenizer.ggml.add_bos_token"); err != nil {
			return nil, err
		}
	} else {
		t.AddBOS, t.AddBOSDefault = model == "llama", true
	}
	if f.Has("tokenizer.ggml.add_eos_token") {
		if t.AddEOS, err = f.Bool("tokenizer.ggml.add_eos_token"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// tensors fills the tensor list, the per-type counts, the parameter count
// and the quantisation mix.
func (i *Info) tensors(f *gguf.File) {
	byType := map[quant.Type]*TypeCount{}
	for _, t := range f.Tensors {
		i.Tensors = append(i.Tensors, Tensor{
			Name: t.Name, Type: t.Type.String(), Dims: slices.Clone(t.Dims),
			Elements: t.Elements(), Bytes: t.Size, Offset: f.DataOffset + t.Offset,
		})
		i.Parameters += t.Elements()
		i.TensorBytes += t.Size
		tc := byType[t.Type]
		if tc == nil {
			tc = &TypeCount{Type: t.Type.String()}
			byType[t.Type] = tc
		}
		tc.Count++
		tc.Bytes += t.Size
	}
	for _, tc := range byType {
		i.TensorTypes = append(i.TensorTypes, *tc)
	}
	slices.SortFunc(i.TensorTypes, func(a, b TypeCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Type, b.Type))
	})
	i.QuantMix = quantMix(f.Tensors)
}

// fileTypeNames are llama.cpp's llama_ftype names by id (LLAMA_FTYPE_*).
var fileTypeNames = map[int64]string{
	0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0",
	8: "MOSTLY_Q5_0", 9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S",
	12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L", 14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M",
	16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K", 19: "MOSTLY_IQ2_XXS",
	20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS", 23: "MOSTLY_IQ3_XXS",
	24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S", 27: "MOSTLY_IQ3_M",
	28: "MOSTLY_IQ2_S", 29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS", 31: "MOSTLY_IQ1_M",
	32: "MOSTLY_BF16",
}

// fileTypeName returns the llama_ftype name of id, or "" when unknown.
func fileTypeName(id int64) string { return fileTypeNames[id] }

// FormatBytes renders n with a binary unit: "512 B", "1.50 KiB", "3.83 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for x := n / unit; x >= unit && exp < 4; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// FormatCount renders a parameter count: "7.24 B", "1.23 M", "260.1 K".
func FormatCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f K", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
