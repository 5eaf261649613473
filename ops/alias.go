package ops

// Aliaser is implemented by ops some of whose outputs ARE one of their
// inputs' storage: the op updates that input in place and the output names
// the updated tensor. Memory planning gives such an output its input's
// location; the input must not be read after the node.
type Aliaser interface {
	// Aliases returns the input whose storage output out is.
	Aliases(out int) (in int, ok bool)
}

// InPlacer is implemented by ops some of whose outputs MAY reuse an input's
// storage when that input is read for the last time by the node. Every
// kernel of the op must then be safe with the output bound over the input:
// an op qualifies only when each output element is computed from input
// elements at the same index alone, so no thread reads what another has
// already overwritten.
type InPlacer interface {
	// InPlace returns the input output out may overwrite.
	InPlace(out int) (in int, ok bool)
}

// Aliases: the updated caches are the caches given (kcache, vcache → 0, 1).
func (KVWriteOp) Aliases(out int) (int, bool) {
	if out == 0 || out == 1 {
		return out, true
	}
	return 0, false
}

// Aliases: outputs 1 and 2 are the caches, inputs 3 and 4; output 0 (the
// roped q) is a fresh tensor.
func (RopeKVWriteOp) Aliases(out int) (int, bool) {
	if out == 1 || out == 2 {
		return out + 2, true
	}
	return 0, false
}

// InPlace: y[i,o] = r[i,o] + x[i]·W[o] reads only r[i,o] before writing
// y[i,o], so y may overwrite the residual r (the _acc contracts allow it).
func (MatMulAddOp) InPlace(out int) (int, bool) { return 2, out == 0 }

// InPlace: out[i] = a[i] + b[i] is elementwise; out may overwrite a (the
// residual stream in the model's x + o).
func (AddOp) InPlace(out int) (int, bool) { return 0, out == 0 }

// InPlace: out[i] = silu(gate[i])·up[i] is elementwise; out may overwrite
// gate.
func (SwiGLUOp) InPlace(out int) (int, bool) { return 0, out == 0 }

// RopeOp and RMSNormOp are deliberately not InPlacers. Rope writes each
// element from a pair of inputs, so a kernel that stores x[2i] before
// loading x[2i+1] would be wrong in place. RMSNorm needs its whole row
// reduced before any store, which a kernel splitting a row across
// threadgroups does not guarantee; and in the model its input is the
// residual stream, which stays live past the norm, so it would never apply.
