package passes

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/metalgraph/metalgraph/graph"
	"github.com/metalgraph/metalgraph/plan"
)

// Pass is one named step of the pipeline.
type Pass struct {
	Name string
	Doc  string
	Run  func(*State) error
}

// WeightLocator tells where a weight tensor lies in the weights buffer (the
// model file): its byte offset and length.
type WeightLocator interface {
	Locate(name string) (offset, length int64, ok bool)
}

// Target is what the pipeline needs to know beyond the graph.
type Target struct {
	Weights WeightLocator
	// WeightsSize is the size of the weights buffer (the whole file).
	WeightsSize int64
}

// State is what passes transform: the graph, then the memory assignment
// and the plan that the last passes produce.
type State struct {
	Graph  *graph.Graph
	Target Target
	Memory *Memory
	Plan   *plan.Plan
}

// Options adjust a run of the pipeline.
type Options struct {
	// Disable names passes to skip, so anyone can see what a pass buys.
	Disable []string
	// DumpAfter is a pass name, or "all", after which Dump is called.
	DumpAfter string
	Dump      func(pass string, g *graph.Graph)
}

// Stat is one pass's timing and effect.
type Stat struct {
	Pass        string
	Skipped     bool
	Time        time.Duration
	NodesBefore int
	NodesAfter  int
}

// Result is the pipeline's output.
type Result struct {
	Graph *graph.Graph
	Plan  *plan.Plan
	Stats []Stat
}

// Run clones g and runs the pipeline over the clone. After every pass it
// verifies the graph (and the plan once there is one); a pass that panics
// or breaks an invariant fails the run with an error naming it.
func Run(g *graph.Graph, t Target, o Options) (*Result, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	disabled := map[string]bool{}
	for _, name := range o.Disable {
		disabled[name] = true
	}
	if err := graph.Verify(g); err != nil {
		return nil, fmt.Errorf("input graph: %w", err)
	}
	s := &State{Graph: g.Clone(), Target: t}
	res := &Result{}
	for _, p := range Pipeline {
		st := Stat{Pass: p.Name, NodesBefore: len(s.Graph.Nodes)}
		if disabled[p.Name] {
			st.Skipped, st.NodesAfter = true, st.NodesBefore
			res.Stats = append(res.Stats, st)
			continue
		}
		start := time.Now()
		if err := runOne(p, s); err != nil {
			return nil, err
		}
		st.Time = time.Since(start)
		st.NodesAfter = len(s.Graph.Nodes)
		res.Stats = append(res.Stats, st)
		if o.Dump != nil && (o.DumpAfter == "all" || o.DumpAfter == p.Name) {
			o.Dump(p.Name, s.Graph)
		}
	}
	res.Graph, res.Plan = s.Graph, s.Plan
	return res, nil
}

func runOne(p Pass, s *State) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pass %s panicked: %v\n%s", p.Name, r, debug.Stack())
		}
	}()
	if err := p.Run(s); err != nil {
		return fmt.Errorf("pass %s: %w", p.Name, err)
	}
	if err := graph.Verify(s.Graph); err != nil {
		return fmt.Errorf("after pass %s: %w", p.Name, err)
	}
	if s.Plan != nil {
		if err := plan.Verify(s.Plan); err != nil {
			return fmt.Errorf("after pass %s: %w", p.Name, err)
		}
	}
	return nil
}

// Lookup returns a pass of the pipeline by name.
func Lookup(name string) (Pass, bool) {
	for _, p := range Pipeline {
		if p.Name == name {
			return p, true
		}
	}
	return Pass{}, false
}

func checkDisabled(names []string) error {
	for _, n := range names {
		if _, ok := Lookup(n); !ok {
			return fmt.Errorf("no pass named %q (passes: %s)", n, passNames())
		}
		for _, req := range Requires {
			if req.Pass == n && req.Needed {
				return fmt.Errorf("pass %s cannot be disabled: %s", n, req.Why)
			}
		}
	}
	return nil
}

// Names returns the pipeline's pass names in order.
func Names() []string {
	names := make([]string, len(Pipeline))
	for i, p := range Pipeline {
		names[i] = p.Name
	}
	return names
}

// Check reports the first problem Run would have with o, so that a caller
// can tell bad options from a failing run: a pass in Disable that does not
// exist or cannot be disabled, or a DumpAfter that names no pass (nor
// "all") or names a disabled one, after which nothing would be dumped.
func (o Options) Check() error {
	if err := checkDisabled(o.Disable); err != nil {
		return err
	}
	switch _, ok := Lookup(o.DumpAfter); {
	case o.DumpAfter == "" || o.DumpAfter == "all":
	case !ok:
		return fmt.Errorf("no pass named %q (passes: %s, or all)", o.DumpAfter, passNames())
	default:
		for _, d := range o.Disable {
			if d == o.DumpAfter {
				return fmt.Errorf("pass %s is disabled, so there is no graph after it", d)
			}
		}
	}
	return nil
}

func passNames() string {
	s := ""
	for i, p := range Pipeline {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}
