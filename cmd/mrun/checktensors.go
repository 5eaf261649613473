package main

import "github.com/metalgraph/metalgraph/models/mistral"

// checkTensors scans the weights for NaN and infinity (--check-tensors),
// with a progress line for files big enough for the scan to take a while.
func checkTensors(e *env, m *mistral.Model) error {
	var progress func(done, total int64)
	if m.File.Size() >= prefaultThreshold {
		p := newProgress(e.stderr, "checking tensors")
		defer p.end()
		progress = p.update
	}
	return m.Weights.CheckFinite(progress)
}
