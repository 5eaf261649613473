package cudart

// Options configure a Runtime.
type Options struct {
	// NoGraphs launches every kernel of every step from the host instead
	// of replaying a CUDA graph captured at a program's first step.
	NoGraphs bool
	// Progress, when set, is called after each chunk of the weights is
	// uploaded with the bytes done and the total.
	Progress func(done, total int64)
}
