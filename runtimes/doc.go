// Package runtimes opens an execution backend by name for the engine:
// "cpu" (cpurt, everywhere), "metal" (metalrt, macOS on Apple Silicon),
// "cuda" (cudart, Linux with an NVIDIA GPU) or "auto" (Metal when present,
// else CUDA when its driver, a GPU and NVRTC load, else CPU). It is the
// one place that knows every runtime, so the engine itself knows none.
//
//	b, err := runtimes.Open("auto", model.File.Bytes(), runtimes.Options{Threads: 4})
//	s, err := engine.NewSession(model, b, engine.Options{})
package runtimes
