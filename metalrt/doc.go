// Package metalrt runs plans on Apple GPUs through Metal. Its MSL kernels
// (kernels/*.metal, one per plan contract, named by it) and the arithmetic
// around them — launch geometry, pipeline keys — are platform-neutral and
// tested on any OS; only the glue over darwinkit is darwin-only.
//
//	l, err := metalrt.Geometry(&d) // d is a plan.Dispatch
//	if err != nil {
//		return err
//	}
//	fmt.Println(metalrt.PipelineKey(d.Kernel), l.Threadgroups, l.Threads, l.ThreadgroupMemory)
package metalrt
