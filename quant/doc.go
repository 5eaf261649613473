// Package quant knows the block formats of GGUF tensors: their geometry,
// how to dequantise a row to float32, how to quantise activations the way
// llama.cpp's CPU backend does, and scalar reference dot products that
// faster kernels are tested against.
//
//	n, _ := quant.RowBytes(quant.Q4_0, 4096) // 2304 bytes: 128 blocks of 18
//	row := make([]float32, 4096)
//	_ = quant.DequantizeRow(quant.Q4_0, data[:n], row)
package quant
