package plan

import (
	"errors"
	"fmt"
	"reflect"
)

// Verify checks a plan: every dispatch names a known contract with the
// right number and direction of bindings and its parameter struct, every
// binding lies inside its buffer, and no two dispatches that may run
// concurrently (between barriers of one command buffer) write overlapping
// bytes or read what the other writes.
func Verify(p *Plan) error {
	var errs []error
	for k, b := range p.Buffers {
		if b.Kind != BufferKind(k) || b.Size < 0 {
			errs = append(errs, fmt.Errorf("buffer %d: kind %s, size %d", k, b.Kind, b.Size))
		}
	}
	for ci, cb := range p.Commands {
		var segment []*Dispatch
		for di := range cb.Dispatches {
			d := &cb.Dispatches[di]
			where := fmt.Sprintf("command buffer %d dispatch %d (%s, %s)", ci, di, d.Node, d.Kernel)
			if err := p.checkDispatch(d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			if d.Barrier {
				segment = segment[:0]
			}
			for _, e := range segment {
				if a, b, ok := hazard(e, d); ok {
					errs = append(errs, fmt.Errorf("%s runs concurrently with %s (%s) without a barrier: %s overlaps %s",
						where, e.Node, e.Kernel, b.describe(), a.describe()))
				}
			}
			segment = append(segment, d)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("plan %s does not verify: %w", p.Name, errors.Join(errs...))
	}
	return nil
}

func (p *Plan) checkDispatch(d *Dispatch) error {
	c, err := Lookup(d.Kernel)
	if err != nil {
		return err
	}
	if len(d.Bindings) != len(c.Roles) {
		return fmt.Errorf("%d bindings, contract has %d", len(d.Bindings), len(c.Roles))
	}
	if reflect.TypeOf(d.Params) != reflect.TypeOf(c.Params) {
		return fmt.Errorf("parameters are %T, contract wants %T", d.Params, c.Params)
	}
	for i, b := range d.Bindings {
		role := c.Roles[i]
		if b.Write != role.Write {
			return fmt.Errorf("binding %d (%s): write=%v, contract says %v", i, role.Name, b.Write, role.Write)
		}
		if int(b.Buffer) >= len(p.Buffers) {
			return fmt.Errorf("binding %d (%s): no buffer %d", i, role.Name, b.Buffer)
		}
		size := p.Buffers[b.Buffer].Size
		if b.Offset < 0 || b.Length <= 0 || b.End() > size {
			return fmt.Errorf("binding %d (%s) %s is outside the %d-byte %s buffer", i, role.Name, b.describe(), size, b.Buffer)
		}
	}
	return nil
}

// hazard finds a pair of bindings of two dispatches that conflict: a write
// of one overlapping any access of the other.
func hazard(a, b *Dispatch) (Binding, Binding, bool) {
	for _, x := range a.Bindings {
		for _, y := range b.Bindings {
			if (x.Write || y.Write) && x.Overlaps(y) {
				return x, y, true
			}
		}
	}
	return Binding{}, Binding{}, false
}

func (b Binding) describe() string {
	mode := "read"
	if b.Write {
		mode = "write"
	}
	return fmt.Sprintf("%s %s[%d:%d] (%s)", mode, b.Buffer, b.Offset, b.End(), b.Value)
}
