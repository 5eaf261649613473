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
//   - args.go: a dispatch's arguments are packed once, at compile time,
//     into one buffer passed with CU_LAUNCH_PARAM_BUFFER_POINTER.
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
// an H200 (driver 580, CUDA 13): every op case agrees with the CPU
// runtime within the Metal tests' NMSE bounds, with graphs and without;
// every shared golden model agrees with the CPU runtime position by
// position within the Metal tests' bounds, greedy tokens identical up to
// the first near tie; ResetKV clears the shared cache.
//
// # Speed (H200, the 7B-shaped Q4_0 file of mrun synth)
//
// Decode: the Q4_0 and Q8_0 mat-vecs quantise the activations to Q8_0 in
// shared memory and dot them with __dp4a (int8dot.cu); attention splits
// the cache among 8 warps in blocks of 8 rows whose Q·K rows are read by
// the warp's lanes together. With split-K (flash decoding) the visible
// rows of a (head, token) are also split among S blocks (grid z), since a
// 32-head decode step is otherwise 32 blocks on 132 SMs, each walking the
// whole cache: S is fixed per dispatch (geometry.go's attnSplits: enough
// splits for 512 blocks, none shorter than 512 rows of a full cache, so
// S = 1 for caches under 1024 positions, 8 at 4096, 16 from 8192 at 32
// heads); each split's share is computed in the kernel from the step
// buffer, so the graph stays valid as kv_len grows, and
// attn_decode_reduce merges the splits' partials (not yet timed on the
// H200). Prefill: Q4_0, Q8_0 and Q6_K mat-muls run on
// the tensor cores (mma.sync on int8; Q4_0 and Q8_0 in tiles of 128 rows
// x 64 tokens staged in shared memory, mmqtile.cu; Q6_K with fragments
// read from the weights, mmq.cu), and mrun's CUDA prefill steps are 512
// tokens (llama.cpp's micro-batch). Measured with
// mrun bench -p 512 -n 128 (median of 3 rounds, alternated with llama.cpp
// b4747's llama-bench -ngl 99 on the same H200): tg128 369 t/s (from 215;
// llama.cpp 234, with -fa 1 245), pp512 3,814 t/s (from 490; llama.cpp
// 9,975, with -fa 1 10,495). A decode step replays in 2.67 ms: the Q4_0
// mat-vecs stream their weights at 27-51% of the copy bandwidth. The
// staged tiles then took pp512 to 4,406 t/s (0.44x llama.cpp; -n 32: tg32
// 372): a 512-token step is 118 ms, 78% of it the Q4_0 mat-muls (about
// 84 int8 TOPS) and 20% prefill attention.
//
// Per-kernel timing: Options.Profile (mrun bench --profile) runs every
// step a second time kernel by kernel between CUDA events and reports, at
// Close, each kernel's ms per step and, for the mat-vec families, the rate
// they stream weights at against the 4.3 TB/s copy bandwidth
// (profile.go; the replay itself is timed too).
//
// Prefill attention (kernels/flash.cu) is tiled flash attention on the
// tensor cores: a block takes 64 queries of one head, stages 32 cache rows
// at a time as halves in shared memory and runs Q·Kᵀ and P·V as
// mma.m16n8k16 on f16 with float sums and an online softmax; float caches
// are rounded to half as well. It replaced one warp per query that re-read
// the cache for every query: 23.3 ms of the 118 ms step, now 2.8 ms.
//
// Steps (steps.go): most dispatches are one launch; a split decode
// attention is two (attn_decode leaves its partials in the program's
// scratch buffer, attn_decode_reduce writes out); the Q4_0 and Q8_0
// mat-muls are two, quantize_q8 writing the activations once into the
// program's scratch buffer as int8 with their scales, then the mat-mul,
// whose blocks fetch the next stage while the tensor cores run on this one.
// With both, pp512 is 8,680 t/s against 4,850 in the same H200 session
// (llama.cpp measured 9,975 to 10,039 in earlier sessions): a 512-token
// step is 58.8 ms, 50 ms of it the Q4_0 mat-muls, 2.8 ms attention, 1.9 ms
// quantize_q8.
//
// Not done: tensor-core mat-muls of Q4_K and Q5_K, fusing the norms into
// the mat-vecs that follow them.
package cudart
