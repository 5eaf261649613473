// Package graph is metalgraph's IR: values with concrete shapes and types,
// nodes that apply an op to values, one invariant checker (Verify), a
// topological order, and clone and rewrite helpers for passes.
//
// Ops themselves live in package ops; a graph only asks an op for its name
// and for the outputs it infers. Models are declared with ops' builder
// functions:
//
//	g := graph.New("tiny", n)
//	tok := g.Input("tokens", quant.I32, n)
//	emb := g.Weight("token_embd.weight", quant.Q4_0, vocab, dim)
//	x := ops.Embed(g, "embed", emb, tok)
//	...
//	g.Output(logits)
//	err := graph.Verify(g)
//
// Shapes are outermost-first: activations are [tokens, features] and
// weights [rows, row length].
package graph
