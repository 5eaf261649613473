// Package gguf reads and writes GGUF (versions 2 and 3) model files.
//
//	f, err := gguf.Open("model.gguf") // memory-mapped, read-only
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	layers, err := f.Uint("llama.block_count")
//	t, ok := f.Tensor("token_embd.weight")
//	data := f.TensorData(t) // a view into the mapping: t.Size bytes, not copied
//
// Open maps the file and Parse reads bytes already in memory; both check
// untrusted input before trusting it: counts and lengths are bounded by
// the bytes that remain before anything is allocated, tensor shapes,
// types, offsets and alignment are validated, and every tensor must lie
// inside the file. Errors start with "gguf: " and name the problem (and,
// for truncation, the byte offset and the field being read).
//
// Metadata is copied out of the file into typed Values; tensor data never
// is. TensorData returns sub-slices of Bytes, which the Metal runtime
// covers with no-copy buffers.
//
// Writer streams a file: declare metadata and tensors, write the header,
// then the tensor data in declaration order; padding is the Writer's job.
//
//	w := gguf.NewWriter(out)
//	w.AddKV("general.architecture", gguf.StringValue("llama"))
//	w.AddTensor("output_norm.weight", quant.F32, []int64{4096})
//	w.WriteHeader()
//	w.WriteTensorData("output_norm.weight", normBytes)
//	err := w.Close()
package gguf
