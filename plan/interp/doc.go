// Package interp executes any plan with the ops package's float32
// reference kernels, dispatch by dispatch, reading and writing the plan's
// buffers exactly as its bindings say. It is slow on purpose: it shows
// that a plan (its memory layout, bindings, parameters and order) computes
// what the graph it came from computes, independently of any runtime.
//
//	it, err := interp.New(prefill, m.File.Bytes()) // KV cache zeroed
//	logits, err := it.Step(promptIDs, 0)           // N×vocab
//	err = it.SetPlan(decode)                       // same KV cache
//	logits, err = it.Step([]int32{next}, len(promptIDs))
//
// Weight bindings are dequantised with quant.DequantizeRow, F16 KV caches
// converted through half precision, and each dispatch evaluated by the ops
// op its parameters describe (NormParams → ops.RMSNormOp{Eps}, ...).
package interp
