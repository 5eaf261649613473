// Package runtimecheck holds the tests that every GPU runtime (metalrt,
// cudart) runs against the CPU runtime, the reference: each op case
// (package opcases) on both, and whole models from the shared golden
// files, position by position.
//
//	runtimecheck.AgainstCPU(t, cpu, gpu.Compile, cases) // a subtest per case, NMSE within its bound
//
//	cuda := runtimecheck.Subject[*cudart.Runtime, *cudart.Program]{Name: "CUDA", Open: open, Tolerances: tol}
//	runtimecheck.EachGolden(t, func(t *testing.T, path string) {
//		r := runtimecheck.CompareModel(t, cuda, path)
//		t.Logf("%d positions, worst |Δlogit| %.3g", r.Positions, r.Worst)
//	})
//	runtimecheck.CheckResetKV(t, cuda)
//
// Tests that need the shared models skip without ../shared (package
// shareddata).
package runtimecheck
