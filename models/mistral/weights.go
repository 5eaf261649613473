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
func BindWeights(f *gguf.File, c Config) (*Weights, error) {
	w := &Weights{byName: map[string]*Tensor{}}
	var err error
	bind := func(name string, floatOnly bool, shape ...int) *Tensor {
		if err != nil {
			return nil
		}
		var t *Tensor
		t, err = bindOne(f, name, floatOnly, graph.Shape(shape))
		if t != nil {
			w.byName[name] = t
		}
		return t
	}
	kv := c.KVHeads * c.HeadDim
	w.TokenEmbd = bind("token_embd.weight", false, c.Vocab, c.Dim)
	w.OutputNorm = bind("output_norm.weight", true, c.Dim)
	if c.TiedEmbeddings {
		w.Output = w.TokenEmbd
	} else {
		w.Output = bind("output.weight", false, c.Vocab, c.Dim)
	}
	for i := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		w.Blocks = append(w.Blocks, Block{
			AttnNorm: bind(p+"attn_norm.weight", true, c.Dim),
			Q:        bind(p+"attn_q.weight", false, c.Heads*c.HeadDim, c.Dim),
			K:        bind(p+"attn_k.weight", false, kv, c.Dim),
			V:        bind(p+"attn_v.weight", false, kv, c.Dim),
			Out:      bind(p+"attn_output.weight", false, c.Dim, c.Heads*c.HeadDim),
			FFNNorm:  bind(p+"ffn_norm.weight", true, c.Dim),
			Gate:     bind(p+"ffn_gate.weight", false, c.FFN, c.Dim),
			Up:       bind(p+"ffn_up.weight", false, c.FFN, c.Dim),
			Down:     bind(p+"ffn_down.weight", false, c.Dim, c.FFN),
		})
	}
	if err != nil {
		return nil, err
	}
	return w, nil
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

// Locate gives a tensor's byte offset in the file and its length, so that
// plans can bind weights as views of the mapped file.
func (w *Weights) Locate(name string) (offset, length int64, ok bool) {
	t, ok := w.byName[name]
	if !ok {
		return 0, 0, false
	}
	return t.Offset, int64(len(t.Data)), true
}
