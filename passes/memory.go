package passes

import (
	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/plan"
)

// Location is where a value's bytes live: a plan buffer and an offset.
type Location struct {
	Buffer plan.BufferKind
	Offset int64
}

// Memory is plan_memory's result: a location for every value of the
// graph, the arena size and the KV buffer's layout.
type Memory struct {
	Arena int64
	KV    []plan.KVLayout
	Loc   map[*graph.Value]Location
}
