package mistral

import (
	"fmt"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/quant"
)

// Tensor is a weight bound to its bytes in the model file (a view into the
// memory map, never a copy). Shape is [rows, row length].
type Tensor struct {
	Name  string
	Type  quant.Type
	Shape graph.Shape
	Data  []byte
	// Offset is the tensor's byte offset in the whole file, for runtimes
	// that map the file as one buffer.
	Offset int64
}

// Block holds one transformer block's weights.
type Block struct {
	AttnNorm, Q, K, V, Out  *Tensor
	FFNNorm, Gate, Up, Down *Tensor
}

// Weights are a model's tensors, checked against its Config.
type Weights struct {
	TokenEmbd, OutputNorm, Output *Tensor
	Blocks                        []Block
	byName                        map[string]*Tensor
}

// matmulTypes are the weight types the mat-vec ops accept.
var matmulTypes = map[quant.Type]bool{
	quant.F32: true, quant.F16: true, quant.BF16: true, quant.Q4_0: true,
	quant.Q8_0: true, quant.Q4_K: true, quant.Q5_K: true, quant.Q6_K: true,
}

// BindWeights finds every tensor the config needs in f and checks its
// shape and type. Errors name the tensor and the expected and actual shape.
// The file's tensor names are checked first (see checkTensorNames), so a
// block count the file cannot fill fails before anything is allocated per
// block, and binding stops at the first missing tensor.
func BindWeights(f *gguf.File, c Config) (*Weights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := checkTensorNames(f, c); err != nil {
		return nil, err
	}
	w := &Weights{Blocks: make([]Block, c.Layers), byName: make(map[string]*Tensor, 3+9*c.Layers)}
	top := []weightSpec{
		{"token_embd.weight", graph.Shape{c.Vocab, c.Dim}, false, &w.TokenEmbd},
		{"output_norm.weight", graph.Shape{c.Dim}, true, &w.OutputNorm},
	}
	if !c.TiedEmbeddings {
		top = append(top, weightSpec{"output.weight", graph.Shape{c.Vocab, c.Dim}, false, &w.Output})
	}
	if err := w.bind(f, "", top); err != nil {
		return nil, err
	}
	if c.TiedEmbeddings {
		w.Output = w.TokenEmbd
	}
	for i := range w.Blocks {
		if err := w.bind(f, fmt.Sprintf("blk.%d.", i), blockSpecs(c, &w.Blocks[i])); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// weightSpec is one tensor a model reads: its name (after the block
// prefix), the shape it must have, whether it must be F32 (norm weights),
// and where it is bound.
type weightSpec struct {
	name      string
	shape     graph.Shape
	floatOnly bool
	dst       **Tensor
}

// blockSpecs lists the tensors of one block, bound into b.
func blockSpecs(c Config, b *Block) []weightSpec {
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	return []weightSpec{
		{"attn_norm.weight", graph.Shape{c.Dim}, true, &b.AttnNorm},
		{"attn_q.weight", graph.Shape{q, c.Dim}, false, &b.Q},
		{"attn_k.weight", graph.Shape{kv, c.Dim}, false, &b.K},
		{"attn_v.weight", graph.Shape{kv, c.Dim}, false, &b.V},
		{"attn_output.weight", graph.Shape{c.Dim, q}, false, &b.Out},
		{"ffn_norm.weight", graph.Shape{c.Dim}, true, &b.FFNNorm},
		{"ffn_gate.weight", graph.Shape{c.FFN, c.Dim}, false, &b.Gate},
		{"ffn_up.weight", graph.Shape{c.FFN, c.Dim}, false, &b.Up},
		{"ffn_down.weight", graph.Shape{c.Dim, c.FFN}, false, &b.Down},
	}
}

// bind binds specs, their names prefixed, stopping at the first problem.
func (w *Weights) bind(f *gguf.File, prefix string, specs []weightSpec) error {
	for _, s := range specs {
		t, err := bindOne(f, prefix+s.name, s.floatOnly, s.shape)
		if err != nil {
			return err
		}
		*s.dst = t
		w.byName[t.Name] = t
	}
	return nil
}

func bindOne(f *gguf.File, name string, floatOnly bool, want graph.Shape) (*Tensor, error) {
	info, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("missing tensor %s (want shape %s)", name, gguf2str(want))
	}
	got := make(graph.Shape, len(info.Dims))
	for i, d := range info.Dims {
		got[len(info.Dims)-1-i] = int(d)
	}
	if !got.Equal(want) {
		return nil, fmt.Errorf("tensor %s has shape %s, want %s (GGUF order, ne0 first)", name, gguf2str(got), gguf2str(want))
	}
	switch {
	case floatOnly && info.Type != quant.F32:
		return nil, fmt.Errorf("tensor %s has type %s, want F32", name, info.Type)
	case !matmulTypes[info.Type]:
		return nil, fmt.Errorf("tensor %s has type %s, which is not supported (supported: F32 F16 BF16 Q4_0 Q8_0 Q4_K Q5_K Q6_K)", name, info.Type)
	}
	return &Tensor{Name: name, Type: info.Type, Shape: got, Data: f.TensorData(info), Offset: f.DataOffset + info.Offset}, nil
}

// gguf2str prints a [rows, row length] shape in GGUF's ne0-first order,
// the order tools like gguf-dump and llama.cpp's errors use.
func gguf2str(s graph.Shape) string {
	out := "["
	for i := len(s) - 1; i >= 0; i-- {
		out += fmt.Sprint(s[i])
		if i > 0 {
			out += " "
		}
	}
	return out + "]"
}

// Tensor returns a bound tensor by name.
func (w *Weights) Tensor(name string) (*Tensor, bool) {
	t, ok := w.byName[name]
	return t, ok
}

// WeightBytes gives a tensor's bytes by name (ops.WeightSource).
func (w *Weights) WeightBytes(name string) ([]byte, error) {
	t, ok := w.byName[name]
	if !ok {
		return nil, fmt.Errorf("no weight named %s", name)
	}
	return t.Data, nil
}

// All lists the distinct bound tensors.
func (w *Weights) All() []*Tensor {
	out := make([]*Tensor, 0, len(w.byName))
	seen := map[*Tensor]bool{}
	add := func(t *Tensor) {
		if t != nil && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	add(w.TokenEmbd)
	for _, b := range w.Blocks {
		for _, t := range []*Tensor{b.AttnNorm, b.Q, b.K, b.V, b.Out, b.FFNNorm, b.Gate, b.Up, b.Down} {
			add(t)
		}
	}
	add(w.OutputNorm)
	add(w.Output)
	return out
}

// CheckFinite scans every weight for NaN and infinity, like llama.cpp's
// --check-tensors: such a file loads and runs but prints garbage. It reads
// every byte of the weights, so callers opt in. progress, when not nil, is
// called after each tensor with the bytes scanned so far and the total.
func (w *Weights) CheckFinite(progress func(done, total int64)) error {
	all := w.All()
	var done, total int64
	for _, t := range all {
		total += int64(len(t.Data))
	}
	for _, t := range all {
		if err := quant.CheckFinite(t.Type, t.Data); err != nil {
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		done += int64(len(t.Data))
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

// Locate gives a tensor's byte offset in the file and its length, so that
// plans can bind weights as views of the mapped file.
func (w *Weights) Locate(name string) (offset, length int64, ok bool) {
	t, ok := w.byName[name]
	if !ok {
		return 0, 0, false
	}
	return t.Offset, int64(len(t.Data)), true
}
