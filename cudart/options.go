package cudart

import "io"

// Options configure a Runtime.
type Options struct {
	// NoGraphs launches every kernel of every step from the host instead
	// of replaying a CUDA graph captured at a program's first step.
	NoGraphs bool
	// Progress, when set, is called after each chunk of the weights is
	// uploaded with the bytes done and the total.
	Progress func(done, total int64)
	// Profile, when set, times every step a second time kernel by kernel
	// with CUDA events and writes each program's mean times per kernel
	// (and its weight streaming rate) there when the runtime closes. The
	// second pass slows the steps: timings of the run itself mean little.
	Profile io.Writer
}
