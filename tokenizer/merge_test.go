package tokenizer

import (
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// naiveMerge is the quadratic statement of the same rule as merge: while
// some adjacent pair forms a piece, merge the best-scoring one, leftmost on
// ties. It works on whole characters of valid UTF-8 only.
func naiveMerge(tok *Tokenizer, text string) []int32 {
	var syms []string
	for _, r := range text {
		syms = append(syms, string(r))
	}
	for {
		best := -1
		var bestScore float32
		for i := 0; i+1 < len(syms); i++ {
			id, ok := tok.ids[syms[i]+syms[i+1]]
			if ok && (best < 0 || tok.scores[id] > bestScore) {
				best, bestScore = i, tok.scores[id]
			}
		}
		if best < 0 {
			break
		}
		syms[best] += syms[best+1]
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	var out []int32
	for _, s := range syms {
		if id, ok := tok.ids[s]; ok {
			out = append(out, id)
			continue
		}
		for i := 0; i < len(s); i++ {
			out = append(out, tok.byteToken[s[i]])
		}
	}
	return out
}

func TestMergeMatchesNaiveRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "c", "▁", "é"}
	randText := func(n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	for trial := range 200 {
		pieces := map[string]float32{}
		for _, a := range alphabet[:4] {
			pieces[a] = 0
		}
		for range 25 {
			// Few distinct scores, so ties are common.
			pieces[randText(2+rng.IntN(3))] = float32(rng.IntN(4))
		}
		tok := mustNew(t, smallVocab(pieces))
		for range 10 {
			text := randText(rng.IntN(30))
			want := naiveMerge(tok, text)
			got := tok.merge(text, nil)
			require.Equal(t, want, got, "trial %d, text %q", trial, text)
		}
	}
}

func TestBigramQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q bigramQueue
	var all []bigram
	for i := range 500 {
		b := bigram{left: i, score: float32(rng.IntN(20))}
		q.push(b)
		all = append(all, b)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].before(all[j]) })
	for _, want := range all {
		assert.Equal(t, want, q.pop())
	}
	assert.Empty(t, q)
}
