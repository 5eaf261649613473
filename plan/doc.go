// Package plan is the backend-neutral schedule of one model step: six
// buffers (step parameters, tokens, the weights file, the KV cache, the
// activation arena, logits), and command buffers of dispatches, each a
// kernel named by contract with its bindings, parameters, problem size and
// whether it waits at a barrier.
//
// A contract (Lookup, Contracts) fixes a kernel name's meaning: binding
// slots, parameter struct, grid. Runtimes implement contracts by name and
// refuse plans that name one they lack.
//
//	for _, d := range p.Dispatches() {
//		c, _ := plan.Lookup(d.Kernel)
//		fmt.Println(d.Node, c.Name, d.Grid, d.Barrier)
//	}
package plan
