//go:build !purego

package quant

import "golang.org/x/sys/cpu"

// The NEON kernels of klanes_arm64.s, each with SDOT (the dot-product
// extension) and with plain NEON lane sums, as the Q4_0 ones. Pointers and
// counts come from the checked slices of kDot, dotRows and dotTokens; nb
// is at least 1.

//go:noescape
func dotQ4_KSDOT(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KNEON(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KRows4SDOT(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_KRows4NEON(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ4_KTokens4SDOT(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ4_KTokens4NEON(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ5_KSDOT(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KNEON(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KRows4SDOT(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ5_KRows4NEON(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ5_KTokens4SDOT(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ5_KTokens4NEON(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ6_KSDOT(w, a *byte, nb int) float32

//go:noescape
func dotQ6_KNEON(w, a *byte, nb int) float32

//go:noescape
func dotQ6_KRows4SDOT(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ6_KRows4NEON(dst *[4]float32, w *byte, stride int, a *byte, nb int)

//go:noescape
func dotQ6_KTokens4SDOT(dst *[4]float32, w, a *byte, stride int, nb int)

//go:noescape
func dotQ6_KTokens4NEON(dst *[4]float32, w, a *byte, stride int, nb int)

var (
	dotprodKLaneKernels = kLaneKernels{
		name: "dotprod",
		q4K:  asmKDot(dotQ4_KSDOT, dotQ4_KRows4SDOT, dotQ4_KTokens4SDOT),
		q5K:  asmKDot(dotQ5_KSDOT, dotQ5_KRows4SDOT, dotQ5_KTokens4SDOT),
		q6K:  asmKDot(dotQ6_KSDOT, dotQ6_KRows4SDOT, dotQ6_KTokens4SDOT),
		half: neonHalfKernels,
	}
	neonKLaneKernels = kLaneKernels{
		name: "neon",
		q4K:  asmKDot(dotQ4_KNEON, dotQ4_KRows4NEON, dotQ4_KTokens4NEON),
		q5K:  asmKDot(dotQ5_KNEON, dotQ5_KRows4NEON, dotQ5_KTokens4NEON),
		q6K:  asmKDot(dotQ6_KNEON, dotQ6_KRows4NEON, dotQ6_KTokens4NEON),
		half: neonHalfKernels,
	}
)

// bestKLaneKernels picks the SDOT kernels ("dotprod") where the CPU has
// the dot-product extension and the plain NEON ones elsewhere.
func bestKLaneKernels() kLaneKernels {
	if cpu.ARM64.HasASIMDDP {
		return dotprodKLaneKernels
	}
	return neonKLaneKernels
}
