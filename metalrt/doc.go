// Package metalrt runs plans on Apple GPUs through Metal, with the same API
// as the CPU runtime (cpurt):
//
//	m, _ := mistral.Open("model.gguf") // memory-mapped: page-aligned
//	rt, err := metalrt.New(m.File.Bytes(), metalrt.Options{})
//	if err != nil {
//		return err // outside macOS: "metal backend: Metal needs macOS on Apple Silicon (this is linux/amd64)"
//	}
//	defer rt.Close()
//	prog, err := rt.Compile(plan) // a plan from passes.Run; refuses contracts without a pipeline
//	logits, err := prog.Run(tokens, pos0)
//
// # Layers
//
// Platform-neutral (built and tested on every OS):
//   - kernels/*.metal and kernels.go: one MSL kernel per plan contract,
//     named by it (the multi-token mat-vecs: one per contract and N, named
//     CONTRACT_nN), embedded and joined into one library source
//     (LibrarySource).
//   - geometry.go: PipelineKey names the MSL function a dispatch binds;
//     Geometry maps a dispatch to threadgroups, threads, threadgroup
//     memory and the parameters' buffer index; SplitOf names the
//     dispatches that run as a kernel and a reduction over a scratch
//     buffer the program owns (attention decode, split-K over the context).
//   - covering.go: Cover chooses page-aligned no-copy windows over the mapped
//     weights, each at most the device's maximum buffer length, overlapping
//     so that no tensor straddles two; Covering.Locate finds a tensor's window.
//   - encoder.go: NewCommandList turns a plan into the calls of a Metal
//     compute encoder (Encoder) once, at compile time, checking offsets
//     (16-byte aligned outside the weights, for the kernels' vector loads)
//     and, through CheckPipeline, each pipeline's limits and its 32-wide
//     simdgroups. Recorder writes the calls down.
//   - flat.go: CommandList.Flatten lays the calls out as plain entries per
//     command buffer (FlatList), which the darwin runtime replays from C.
//   - selectors.go: the Objective-C selectors the glue sends itself.
//
// Darwin-only (//go:build darwin), thin: the device (a cgo declaration of
// MTLCreateSystemDefaultDevice), the queue, the library compiled with MSL
// 3.1 set explicitly and fast math off, a pipeline per host name the
// plans bind (PipelineKey: one per N for the multi-token mat-vecs and
// attention decode), no-copy buffers over the covering's windows, shared
// buffers for the step, tokens, KV cache, arena, logits and scratch. Set-up messages with protocol-typed
// arguments go through objc.Call in one small wrapper each (darwinkit
// v0.5.0's own wrappers panic on them). A step goes through C
// (replay_darwin.go): one cgo call per command buffer makes it and its
// encoder, sends the span's entries with plain objc_msgSend and commits it,
// so the GPU starts on the first while the next is encoded; a last call
// waits for all of them. Nil command buffers and encoders are errors; a
// step makes no Go allocation. ResetKV zeroes the cache with a blit; new
// buffers start zeroed by Metal.
//
// # What is verified where
//
// On Linux (go test ./metalrt, and go run ./tools/darwincheck ./metalrt/...):
//   - the covering (a Mistral-7B Q4_0 layout over 1 GiB windows, edge cases);
//   - the encoding: golden recordings of the Mistral-7B plans at N = 1 and
//     N = 5 and of stories260K (testdata/, rewritten by go test ./metalrt
//     -update), each replayed into a simulated encoder that checks every
//     dispatch's pipeline, bindings (weights at their file offset through the
//     covering), parameter bytes, geometry and barriers against the plan;
//     replaying allocates nothing;
//   - geometry and the MSL sources' contract (entry points, buffer indices,
//     parameter structs, block layouts) by reading them;
//   - that every selector the glue sends exists in darwinkit v0.5.0 and is
//     checked with respondsToSelector: at start-up;
//   - that the darwin code and its tests type-check for darwin/arm64, the
//     cgo files as the cgo tool translates them, their C preamble compiled
//     by the host's C compiler (it declares the Objective-C runtime
//     functions it calls instead of including Apple headers), with compile-
//     time checks that FlatEntry matches the C struct it is read as;
//   - that the flat list records exactly what the command list does, and
//     that the C replay, compiled with gcc around testdata/replay_harness.c
//     (fake objects, an objc_msgSend that jumps to a fake method per
//     selector), sends exactly those calls for the hand plan, stories260K
//     and Mistral-7B, waits for every command buffer, zeroes with a blit,
//     and reports failed command buffers and nil ones or nil encoders
//     (replay_c_test.go, on linux/amd64 and linux/arm64);
//   - that the one-dispatch test case of every contract is a valid plan
//     that the CPU runtime runs;
//   - that the kernels compute what the CPU runtime computes: g++
//     type-checks the MSL against a C++ emulation of the Metal language
//     (mslemu/metal_emulation.h) and runs every op case, plus ragged tails,
//     with the launch the encoder issues, in Metal's execution model:
//     threadgroups of fibers, simdgroup functions and barriers as meeting
//     points, simdgroup matrices, guarded buffers, each dispatch in two
//     orders to expose races (emulator_test.go; needs g++, required in CI;
//     MSLEMU_SANITIZE=1 adds AddressSanitizer and UBSan). The emulation
//     cannot show that Apple's compiler accepts the source, how the
//     hardware lays simdgroup matrices over lanes, the precision of Metal's
//     math library, nor how fast a kernel runs;
//   - how well the hot decode kernels use device memory: the emulator built
//     with load accounting (mslemu/loads.h) reports each dispatch's sector
//     efficiency and reuse at Mistral-7B's shapes (go test ./metalrt -run
//     Efficiency -v prints them, efficiency_test.go), a proxy for
//     bandwidth, not a timing.
//
// Only on a Mac (go test ./metalrt there runs the darwin tests too):
//   - that the MSL compiles and every kernel computes on the GPU what the
//     CPU runtime computes, within a per-op tolerance
//     (contracts_darwin_test.go);
//   - that whole models (the shared test models, F32 and F16 caches) agree
//     with the CPU runtime token by token, and that ResetKV clears the cache
//     (models_darwin_test.go);
//   - that a decode step makes no Go allocation (replay_darwin_test.go);
//   - everything cgo, Objective-C and the GPU decide at run time: the cgo
//     preamble against Apple's headers, objc.Call result types, the
//     ownership of Metal objects and the cost of encoding. None of the
//     darwin code has run on a Mac yet; the C replay has run only against
//     the Linux fakes.
//
// Not done: indirect command buffers (which would move the per-step
// encoding to the GPU) and encoding command buffers from several threads.
package metalrt
