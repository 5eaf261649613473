package engine

import "github.com/metalgraph/metalgraph/plan"

// Backend is a runtime that compiles plans into programs. All programs of
// one backend share its KV cache, so a prompt prefilled by the N = 64 plan
// is continued by the N = 1 plan.
type Backend interface {
	Name() string
	Compile(p *plan.Plan) (Program, error)
	// ResetKV clears the cache for a new conversation.
	ResetKV()
	Close() error
}

// Program is a compiled plan of one step size. A program that is also an
// io.Closer is closed when a session drops it from its bounded cache.
type Program interface {
	// Run executes one step of len(tokens) tokens at positions pos0.. and
	// returns the logits, one row of vocabulary size per token. The slice
	// is valid until the next Run of the same program.
	Run(tokens []int32, pos0 int) ([]float32, error)
}

// LastRunner is a Program that can compute the last token's logits alone,
// sparing a prefill the output projection of every other token. RunLast
// returns that one row, valid until the program's next run.
type LastRunner interface {
	RunLast(tokens []int32, pos0 int) ([]float32, error)
}
