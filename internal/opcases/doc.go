// Package opcases builds the op cases that every GPU runtime is tested
// with against the CPU runtime, the way llama.cpp's test-backend-ops
// compares backends op by op: a case is a plan of one dispatch whose
// inputs are random values in the weights buffer and whose outputs (caches
// included) are bound in the logits buffer, so that any runtime's Run
// returns them.
//
//	cases, weights := opcases.All() // a case for every plan contract
//	cpu, _ := cpurt.New(weights, cpurt.Options{})
//	prog, _ := cpu.Compile(cases[0].Plan)
//	logits, _ := prog.Run(cases[0].Tokens, cases[0].Pos0)
//	for _, s := range cases[0].Out {
//		vals := s.Values(logits) // compare with another runtime's within cases[0].NMSE
//	}
//
// Runtimes build cases of their own (ragged tails, long rows) with New,
// Mat, Attn and RopeKVWrite over a Weights buffer.
package opcases
