package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/metalgraph/metalgraph/plan"
	"github.com/metalgraph/metalgraph/quant"
)

// checkMemory refuses a plan whose buffers would not fit in the memory
// available before the backend allocates them: a --ctx too large would
// otherwise end the process with "out of memory" and a trace. The first
// program of a session allocates the KV cache, which later ones share;
// every program allocates its arena and logits. The weights are not
// counted: they are the mapped file, served by the page cache.
func (s *Session) checkMemory(p *plan.Plan) error {
	available, ok := s.opts.MemoryLimit, s.opts.MemoryLimit > 0
	if !ok {
		if available, ok = availableMemory(); !ok {
			return nil
		}
	}
	var kv int64
	withKV := len(s.programs.entries) == 0
	if withKV {
		kv = p.Buffer(plan.KV).Size
	}
	var other int64
	for k, b := range p.Buffers {
		if kind := plan.BufferKind(k); kind != plan.Weights && kind != plan.KV {
			other = addSizes(other, b.Size)
		}
	}
	need := addSizes(kv, other)
	if need <= available {
		return nil
	}
	what := "the activations"
	if withKV {
		what = "the KV cache and activations"
	}
	msg := fmt.Sprintf("%s for --ctx %d need %s but %s is available", what, s.cfg.Context, gib(need), gib(available))
	if need == math.MaxInt64 {
		msg = fmt.Sprintf("%s for --ctx %d need more bytes than a 64-bit size can count", what, s.cfg.Context)
	}
	if ctx := fittingContext(kv, other, s.cfg.Context, available); ctx > 0 {
		msg += fmt.Sprintf("; try --ctx %d", ctx)
		if s.cfg.KVType == quant.F32 {
			msg += " or --kv f16"
		}
	}
	return errors.New(msg)
}

// addSizes adds two buffer sizes, saturating at math.MaxInt64; a negative
// size is one that overflowed on its way here and counts as the maximum.
func addSizes(a, b int64) int64 {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// fittingContext is the largest power of two of positions whose KV cache
// (kv bytes hold ctx positions) fits beside other bytes in available, or 0
// when none does or the cache is not the problem.
func fittingContext(kv, other int64, ctx int, available int64) int {
	if kv <= 0 || kv == math.MaxInt64 || other >= available {
		return 0
	}
	perPosition := max(kv/int64(ctx), 1)
	fit := (available - other) / perPosition
	if fit < 1 {
		return 0
	}
	return 1 << (bits.Len64(uint64(fit)) - 1)
}

func gib(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

// availableMemory is what the system can hand out without swapping:
// MemAvailable of /proc/meminfo. Where that file does not exist (macOS,
// whose GPU shares this memory too) it reports false and nothing is
// checked. Container limits (cgroups) are not read.
func availableMemory() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return parseMemAvailable(f)
}

// parseMemAvailable reads the "MemAvailable: 20312344 kB" line.
func parseMemAvailable(r io.Reader) (int64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 || kb > math.MaxInt64/1024 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}
