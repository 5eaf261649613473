// Package passes turns a model graph into a plan. A pass is a named value
// in one ordered Pipeline; Run clones the graph, runs each pass, verifies
// the graph (and plan) after every one, times them, turns a panic into an
// error naming the pass, and can dump the graph after any pass.
//
//	res, err := passes.Run(g, passes.Target{Weights: m.Weights, WeightsSize: m.File.Size()},
//		passes.Options{Disable: []string{"fuse_qkv"}})
//	for _, s := range res.Stats {
//		fmt.Println(s.Pass, s.Time, s.NodesBefore, s.NodesAfter)
//	}
//	p := res.Plan // dispatches grouped into command buffers
//	passes.WriteTable(os.Stdout, res) // per-pass times and node counts, plan statistics
//	passes.WriteCost(os.Stdout, p, 4096) // bytes moved per token with 4096 cached positions
//
// Options.Check validates options (unknown or required passes, dump
// targets) before anything runs; Run calls it too.
package passes
