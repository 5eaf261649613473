package passes

import (
	"fmt"
	"io"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
)

// WriteCost writes what one step of p moves through memory per token with
// the KV cache filled to context positions (plan.Cost: weights, KV cache
// read and written, activations), then the dispatches and barriers of
// each command buffer.
func WriteCost(w io.Writer, p *plan.Plan, context int) error {
	c, err := p.Cost(context)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s, N=%d, KV cache at %d positions: bytes moved per token\n", p.Name, p.N, context)
	var bytes table
	perToken := func(name string, v int64) {
		v = c.PerToken(v)
		bytes = append(bytes, []string{name, size(v), fmt.Sprintf("%d B", v)})
	}
	perToken("weights", c.WeightBytes)
	perToken("KV cache read", c.KVReadBytes)
	perToken("KV cache written", c.KVWriteBytes)
	perToken("activations", c.ActivationBytes)
	perToken("total", c.Total())
	bytes.write(&b)
	cmds := table{{"command buffer", "dispatches", "barriers"}}
	var total plan.CommandCost
	for i, cc := range c.Commands {
		cmds = append(cmds, []string{fmt.Sprint(i), fmt.Sprint(cc.Dispatches), fmt.Sprint(cc.Barriers)})
		total.Dispatches += cc.Dispatches
		total.Barriers += cc.Barriers
	}
	cmds = append(cmds, []string{"all", fmt.Sprint(total.Dispatches), fmt.Sprint(total.Barriers)})
	cmds.write(&b)
	_, err = io.WriteString(w, b.String())
	return err
}
