package gguf_test

import (
	"bytes"
	"fmt"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/quant"
)

// Write a small file with the streaming Writer, then read it back.
func Example() {
	var buf bytes.Buffer
	w := gguf.NewWriter(&buf)
	w.AddKV("general.architecture", gguf.StringValue("llama"))
	w.AddKV("llama.block_count", gguf.Uint32Value(2))
	w.AddKV("tokenizer.ggml.tokens", gguf.StringsValue([]string{"<unk>", "<s>", "</s>"}))
	w.AddTensor("output_norm.weight", quant.F32, []int64{4})
	w.WriteHeader()
	w.WriteTensorData("output_norm.weight", make([]byte, 16))
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	f, err := gguf.Parse(buf.Bytes()) // gguf.Open maps a file instead
	if err != nil {
		fmt.Println(err)
		return
	}
	n, _ := f.Uint("llama.block_count")
	tokens, _ := f.Lookup("tokenizer.ggml.tokens")
	t, _ := f.Tensor("output_norm.weight")
	_, err = f.String("llama.block_count")
	fmt.Println(f.Architecture(), n, tokens)
	fmt.Println(t.Name, t.Type, t.Dims, len(f.TensorData(t)))
	fmt.Println(err)
	// Output:
	// llama 2 [3×string] ["<unk>", "<s>", "</s>"]
	// output_norm.weight F32 [4] 16
	// gguf: key llama.block_count: is uint32, want a string
}
