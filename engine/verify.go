package engine

import "math/rand/v2"

// verifier applies speculative sampling's acceptance rule (Leviathan et
// al. 2023; Chen et al. 2023) to drafted tokens: token d drafted from the
// distribution q is accepted with probability min(1, p(d)/q(d)), where p is
// the target's distribution at that position; the first rejected one is
// replaced by a draw from max(0, p − q), normalised; if every draft is
// accepted, one more token is drawn from the target's next distribution.
// Each emitted token then has exactly the target's distribution. At
// temperature 0 p is one-hot on the greedy token, so the rule reduces to
// greedy verification: accept while the draft equals the argmax.
type verifier struct {
	rng *rand.Rand
	// accept is the rule's test, a field so that a test can break it and
	// see the chi-square test fail.
	accept   func(p, q, u float64) bool
	residual []float64
}

func newVerifier(seed uint64) *verifier {
	return &verifier{rng: rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)), accept: acceptLossless}
}

// acceptLossless accepts with probability min(1, p/q) given u uniform in
// [0, 1).
func acceptLossless(p, q, u float64) bool { return u*q < p }

// verify checks drafts against the target. probs[i] is the distribution
// drafts[i] was drawn from, or nil for a drafter that picks its tokens
// without one (prompt lookup, translation): such a token counts as drawn
// with certainty (q one-hot), which keeps the rule lossless, since the
// draft does not depend on the target's random numbers. target(i) returns
// the target's distribution for the token after drafts[:i]; it is called
// in order and only once drafts[:i] are accepted. verify returns how many
// drafts were accepted and the token that follows them.
func (v *verifier) verify(drafts []int32, probs [][]float64, target func(i int) ([]float64, error)) (int, int32, error) {
	for i, d := range drafts {
		p, err := target(i)
		if err != nil {
			return 0, 0, err
		}
		var q []float64
		if probs != nil {
			q = probs[i]
		}
		if v.accept(p[d], draftProb(q, d), v.rng.Float64()) {
			continue
		}
		return i, drawIndex(v.rng, v.residualOf(p, q, d)), nil
	}
	p, err := target(len(drafts))
	if err != nil {
		return 0, 0, err
	}
	return len(drafts), drawIndex(v.rng, p), nil
}

func draftProb(q []float64, d int32) float64 {
	if q == nil {
		return 1
	}
	return q[d]
}

// residualOf is max(0, p − q) (q one-hot on d when nil), unnormalised:
// drawIndex normalises. A rejection implies p(d) < q(d), so the residual has
// mass; should rounding leave none, p itself is the honest fallback.
func (v *verifier) residualOf(p, q []float64, d int32) []float64 {
	r := append(v.residual[:0], p...)
	v.residual = r
	if q == nil {
		r[d] = 0
	} else {
		for i := range r {
			r[i] = max(0, p[i]-q[i])
		}
	}
	var sum float64
	for _, x := range r {
		sum += x
	}
	if sum <= 0 {
		return p
	}
	return r
}

// drawIndex samples an index from unnormalised non-negative weights.
func drawIndex(rng *rand.Rand, w []float64) int32 {
	var sum float64
	for _, x := range w {
		sum += x
	}
	r := rng.Float64() * sum
	last := 0
	for i, x := range w {
		if x <= 0 {
			continue
		}
		if r < x {
			return int32(i)
		}
		r -= x
		last = i
	}
	return int32(last) // rounding left r just past the total
}
