package mistral

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metalgraph/metalgraph/gguf"
)

// checkTensorNames refuses a file whose tensors are not exactly a model's.
// A tensor the model does not read (an attention bias, a q/k norm, Llama
// 3's rope_freqs.weight) would change the output if it were honoured, so
// running without it prints plausible but wrong text; llama.cpp refuses
// such files too ("wrong number of tensors"), so no extra tensor is
// ignored as harmless. The check also bounds block_count by the blocks the
// file holds tensors for, before anything is allocated per block.
func checkTensorNames(f *gguf.File, c Config) error {
	perBlock := map[string]bool{}
	for _, s := range blockSpecs(c, &Block{}) {
		perBlock[s.name] = true
	}
	blockCount := archKey(c.Arch, "block_count")
	blocks := 0 // one past the highest block index seen
	for _, t := range f.Tensors {
		i, name, inBlock := splitBlockName(t.Name)
		switch {
		case inBlock && perBlock[name] && i < c.Layers:
			blocks = max(blocks, i+1)
		case inBlock && perBlock[name]:
			return fmt.Errorf("tensor %s is in block %d, but %s is %d", t.Name, i, blockCount, c.Layers)
		case t.Name == "token_embd.weight" || t.Name == "output_norm.weight" || t.Name == "output.weight":
		case t.Name == "rope_freqs.weight":
			return fmt.Errorf("tensor rope_freqs.weight: Llama 3 rope frequency factors are not supported")
		default:
			return fmt.Errorf("unknown tensor %s: a %s model does not use it", t.Name, c.Arch)
		}
	}
	if blocks < c.Layers {
		return fmt.Errorf("%s = %d, but the file holds tensors for %d blocks", blockCount, c.Layers, blocks)
	}
	return nil
}

// splitBlockName splits "blk.12.attn_q.weight" into 12 and
// "attn_q.weight". Only llama.cpp's spelling of the index counts (decimal,
// no sign, no leading zeros).
func splitBlockName(name string) (int, string, bool) {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return 0, "", false
	}
	num, suffix, ok := strings.Cut(rest, ".")
	i, err := strconv.Atoi(num)
	if !ok || err != nil || strconv.Itoa(i) != num || i < 0 {
		return 0, "", false
	}
	return i, suffix, true
}
