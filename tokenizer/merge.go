package tokenizer

// symbol is a run of the text being merged, linked to its live neighbours.
// A symbol merged into its left neighbour has n == 0.
type symbol struct {
	start, n   int
	prev, next int // indexes into the symbol slice, -1 at the ends
}

// bigram is a candidate merge of two adjacent symbols into a vocabulary
// piece. size is the merged length when it was queued; a later merge of
// either side changes the lengths, which is how stale entries are spotted.
type bigram struct {
	left, right int
	score       float32
	size        int
}

// before orders the queue: best score first, then the leftmost pair.
func (a bigram) before(b bigram) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// bigramQueue is a binary heap of bigrams ordered by before.
type bigramQueue []bigram

func (q *bigramQueue) push(b bigram) {
	h := append(*q, b)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *bigramQueue) pop() bigram {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		best := i
		if l := 2*i + 1; l < len(h) && h[l].before(h[best]) {
			best = l
		}
		if r := 2*i + 2; r < len(h) && h[r].before(h[best]) {
			best = r
		}
		if best == i {
			break
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
	*q = h
	return top
}

// utf8Len is the length of the UTF-8 sequence a lead byte announces. Like
// llama.cpp it takes only the high nibble, so invalid input still splits
// into runs of 1 to 4 bytes.
func utf8Len(lead byte) int {
	switch hi := lead >> 4; {
	case hi < 0xC:
		return 1
	case hi < 0xE:
		return 2
	case hi == 0xE:
		return 3
	}
	return 4
}

// merge appends the ids of one escaped text fragment to out: it splits text
// into characters, repeatedly merges the adjacent pair that forms the
// best-scoring vocabulary piece, and writes each final symbol as its piece
// or, failing that, as byte-fallback tokens. Every merge forms a piece by
// construction, so only unmerged characters can need the fallback
// (SentencePiece's resegmentation of merged symbols never applies).
func (t *Tokenizer) merge(text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	syms := make([]symbol, 0, len(text))
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		syms = append(syms, symbol{start: off, n: n, prev: len(syms) - 1, next: len(syms) + 1})
		off += n
	}
	syms[len(syms)-1].next = -1

	q := make(bigramQueue, 0, len(syms))
	add := func(left, right int) {
		if left < 0 || right < 0 {
			return
		}
		l, r := syms[left], syms[right]
		id, ok := t.ids[text[l.start:r.start+r.n]]
		if !ok {
			return
		}
		q.push(bigram{left: left, right: right, score: t.scores[id], size: l.n + r.n})
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(q) > 0 {
		b := q.pop()
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		add(l.prev, b.left)
		add(b.left, l.next)
	}

	for i := 0; i >= 0; i = syms[i].next {
		piece := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			out = append(out, t.byteToken[piece[j]])
		}
	}
	return out
}
