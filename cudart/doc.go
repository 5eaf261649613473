// Package cudart runs plans on NVIDIA GPUs through CUDA, with the same API
// as the CPU runtime (cpurt):
//
//	rt, err := cudart.New(m.File.Bytes(), cudart.Options{})
//	if err != nil {
//		return err // e.g. "cuda backend: the NVIDIA driver library (libcuda.so.1) is not installed or cannot be loaded: …"
//	}
//	defer rt.Close()
//	prog, err := rt.Compile(plan) // a plan from passes.Run
//	logits, err := prog.Run(tokens, pos0)
//
// No cgo: libcuda.so.1 (the driver API) and NVRTC are loaded at run time
// with purego, so CGO_ENABLED=0 builds keep the backend and cross-compile.
// On Linux such a binary is dynamically linked (purego imports dlopen from
// the C library), no longer static. NVRTC is looked for on the library
// path, under $CUDA_HOME, $CUDA_PATH and /usr/local/cuda*, and in pip's
// nvidia packages (libs.go); where the driver, a GPU or NVRTC is missing,
// New fails with one line saying which, and "auto" (package runtimes)
// falls back to the CPU.
//
// # Layers
//
//   - kernels/*.cu, kernels.go: one CUDA C++ entry point per plan contract,
//     named by it, taking a pointer per binding then the parameter struct
//     by value; embedded, compiled by NVRTC without toolkit headers for the
//     GPU's exact architecture in units (base, and the mat-vec families of
//     one weight type each, so a model compiles only its types, in
//     parallel), cached on disk under $MRUN_CACHE/cuda or the user cache
//     directory, keyed by source hash, unit, architecture, driver and NVRTC
//     version. Compiling the units of a Q4_0 model takes about 15 s on the
//     H200's host; later runs load the cache.
//   - geometry.go: Geometry maps a dispatch to blocks, threads and shared
//     memory; the parameters are validated by metalrt.Geometry, whose
//     kernels have the same limits.
//   - args.go, steps.go: a dispatch is one launch, or two where the
//     runtime adds a step (quantize_q8 before the Q4_0 and Q8_0 matmuls,
//     attn_decode_reduce after a split decode attention), which share the
//     program's scratch buffer; each launch's arguments are packed once, at
//     compile time, into one buffer passed with
//     CU_LAUNCH_PARAM_BUFFER_POINTER.
//   - graph.go: a program's launches are captured into a CUDA graph at its
//     first step and replayed at every later one; the kernels read the
//     step's position and token count from the step buffer, so the graph
//     never changes (Options.NoGraphs launches every kernel instead).
//   - runtime_linux.go, program_linux.go: the weights are uploaded once,
//     streamed from the mapping in 64 MiB copies; the KV cache is shared by
//     a runtime's programs; each step copies the step parameters and tokens
//     in one pinned upload and the logits back into pinned memory. The
//     goroutine that drives the GPU is locked to its thread and makes the
//     context current on every call.
//
// # What is verified where
//
// Everywhere (go test ./cudart; g++ needed, required in CI): every op case,
// and the prefill and split decode attention cases (attention_test.go),
// runs on a CPU emulation of CUDA's execution model (emulator/: threads as
// fibers, blocks one at a time, barriers and warp exchanges as meeting
// points; g++ compiles the real kernel source) with the launch the runtime
// issues, and agrees with the CPU runtime within the device tests'
// bounds; the entry points against the contracts (through g++'s
// preprocessor), the parameter structs against plan/params.go, the launch
// constants, geometry, argument packing, graph capture bookkeeping with a
// fake driver, the NVRTC search order, the kernel cache, the step limits,
// and the refusal without a driver or NVRTC. The emulation cannot show
// that NVRTC accepts the source, the GPU's rounding (fused multiply-adds,
// its math library) or anything about speed.
//
// On an NVIDIA GPU (go test -tags cuda ./cudart, device_test.go), run on
// an H200 (driver 580, CUDA 13): every op case, the prefill and split
// decode attention cases and the F32 matmul's float-accuracy cases agree
// with the CPU runtime within their bounds, with graphs and without; every
// shared golden model agrees with the CPU runtime position by position
// within the Metal tests' bounds, greedy tokens identical up to the first
// near tie; ResetKV clears the shared cache.
//
// # Kernels
//
// Decode: the Q4_0 and Q8_0 mat-vecs quantise the activations to Q8_0 in
// shared memory and dot them with __dp4a (int8dot.cu); the other types
// decode 32-column chunks to float (matvec.cu; F32, F16 and BF16 chunks
// in 16-byte loads). Attention (attention.cu) splits the cache among 8
// warps of a block, and with split-K (flash decoding) among S blocks too
// (grid z): S is fixed per dispatch (geometry.go's attnSplits: enough
// splits for 512 blocks, none shorter than 512 rows of a full cache, so
// S = 1 under 1024 positions, 8 at 4096, 16 from 8192 at 32 heads), each
// split's share is computed in the kernel from the step buffer, so the
// graph stays valid as kv_len grows, and attn_decode_reduce merges the
// partials.
//
// Prefill: every matmul runs on the tensor cores. Q4_0 and Q8_0 in tiles
// of 128 rows x 64 tokens staged in shared memory as int8 (mmqtile.cu),
// from activations quantize_q8 quantised once, the next stage fetched
// while the MMAs run; F16, BF16, Q4_K and Q5_K in the same tiles as half
// (mmhalf.cu); F32 as three TF32 products (mmtf32.cu), which keeps float
// accuracy; Q6_K with fragments read from the weights (mmq.cu). The
// tiles share their block layout and forms (mmforms.cu). Attention
// (flash.cu) is tiled flash attention: a block takes 64 queries of a
// head, stages 32 cache rows at a time as halves and runs Q·Kᵀ and P·V as
// mma.m16n8k16 with float sums and an online softmax. mrun's CUDA prefill
// steps are 512 tokens (llama.cpp's micro-batch).
//
// # Speed (H200, the 7B-shaped Q4_0 file of mrun synth, F16 cache)
//
// mrun bench -p 512 -n 128 alternated with llama.cpp b4747's llama-bench
// -ngl 99 (its CUDA build, made on the same machine), three rounds each,
// medians: pp512 8,620 t/s against 9,886 (0.87x; with -fa 1 10,250,
// 0.84x), tg128 365.0 against 218.1 (1.67x; with -fa 1 232.5, 1.57x);
// pp4096+tg128 4,104 against 3,905 with -fa 1. A 512-token step is 59.4
// ms: the Q4_0 mat-muls 50.3 ms (about 143 int8 TOPS), quantize_q8 1.9,
// attention 2.8, the Q6_K output 2.7. A decode step replays in 2.66 ms:
// the Q4_0 mat-vecs stream their weights at 28% (attention output and
// down projections), 27% (qkv) and 51% (gate_up) of the 4.3 TB/s copy
// bandwidth; rmsnorm, 65 short launches, takes 0.46 ms. Split-K took
// pp4096+tg128 from 2,711 to 3,986 t/s in one session. On the F16 file
// (13.5 GiB): tg32 183 t/s, pp512 4,157 (llama.cpp, measured on another
// H200 lease the same day: 160 and, through cuBLAS, 16,038).
//
// Per-kernel timing: Options.Profile (mrun bench --profile) runs every
// step a second time kernel by kernel between CUDA events and reports, at
// Close, each kernel's ms per step and, for the mat-vec families, the rate
// they stream weights at against the 4.3 TB/s copy bandwidth
// (profile.go; the replay itself is timed too).
//
// Tried and dropped (tg128, alternating in one session): reading the int8
// mat-vecs' blocks as whole words (330 t/s against 366 for u16 halves);
// one row a warp instead of two (358 against 365); loading each lane's
// blocks two iterations ahead, the first ones during the quantisation
// (334 against 367: gate_up's registers rose from 59 to 80).
//
// Not done: fusing the norms into the mat-vecs that follow them; staging
// the half tiles' next stage during the MMAs (F16 prefill is 0.26x
// llama.cpp's cuBLAS); Q4_K and Q5_K on int8 tiles.
package cudart
