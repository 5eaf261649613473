package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/engine"
	"github.com/metalgraph/metalgraph/internal/shareddata"
)

// parseBench parses bench's flags as dispatch does and checks them.
func parseBench(t *testing.T, args ...string) (benchFlags, []engine.BenchTest, string) {
	t.Helper()
	var b benchFlags
	fs := newFlagSet(commands["bench"])
	b.declare(fs)
	_, err := parseInterspersed(fs, append([]string{"-m", "model.gguf"}, args...))
	require.NoError(t, err)
	tests, problem := b.check()
	return b, tests, problem
}

func TestBenchFlags(t *testing.T) {
	pp := func(n int) engine.BenchTest { return engine.BenchTest{Prompt: n} }
	tg := func(n int) engine.BenchTest { return engine.BenchTest{Gen: n} }
	cases := []struct {
		args    []string
		tests   []engine.BenchTest
		reps    int
		threads int
	}{
		{nil, []engine.BenchTest{pp(64), tg(32)}, 3, 0},
		{[]string{"-p", "8,16", "-n", "0"}, []engine.BenchTest{pp(8), pp(16)}, 3, 0},
		{[]string{"-n", "4", "-p", "0"}, []engine.BenchTest{tg(4)}, 3, 0},
		{[]string{"-p", "8", "-p", "16, 32", "-n", "1"}, []engine.BenchTest{pp(8), pp(16), pp(32), tg(1)}, 3, 0},
		{[]string{"-p", "0,8", "-n", "4,0"}, []engine.BenchTest{pp(8), tg(4)}, 3, 0},
		{[]string{"-r", "2", "--threads", "1"}, []engine.BenchTest{pp(64), tg(32)}, 2, 1},
		// compare-llama-bench's call.
		{[]string{"-p", "64", "-n", "32", "--reps", "1", "--threads", "2"}, []engine.BenchTest{pp(64), tg(32)}, 1, 2},
		{[]string{"-t", "2"}, []engine.BenchTest{pp(64), tg(32)}, 3, 2},
		{[]string{"--ctx", "64"}, []engine.BenchTest{pp(64), tg(32)}, 3, 0},
		{[]string{"-pg", "8,4", "-p", "0", "-n", "0"}, []engine.BenchTest{{Prompt: 8, Gen: 4}}, 3, 0},
		{[]string{"-pg", "8,4", "-p", "16", "-pg", "32, 2", "-n", "1"},
			[]engine.BenchTest{pp(16), tg(1), {Prompt: 8, Gen: 4}, {Prompt: 32, Gen: 2}}, 3, 0},
	}
	for _, c := range cases {
		b, tests, problem := parseBench(t, c.args...)
		require.Empty(t, problem, "%v", c.args)
		assert.Equal(t, c.tests, tests, "%v", c.args)
		assert.Equal(t, c.reps, b.reps, "%v", c.args)
		assert.Equal(t, c.threads, b.run.threads, "%v", c.args)
	}
}

func TestBenchRejectsBadFlagsWithOneLine(t *testing.T) {
	const counts = "want token counts from 0 to 2147483647 separated by commas, such as 64,512"
	const pairs = "want two positive token counts, the prompt's and the generation's, such as 512,128"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-p", "x"}, `invalid value "x" for flag -p: ` + counts},
		{[]string{"-p", "8,-1"}, `invalid value "8,-1" for flag -p: ` + counts},
		{[]string{"-n", "1,,2"}, `invalid value "1,,2" for flag -n: ` + counts},
		{[]string{"-n", "99999999999"}, `invalid value "99999999999" for flag -n: ` + counts},
		{[]string{"-p", "0", "-n", "0"}, "nothing to measure: -p and -n are both 0 and there is no -pg"},
		{[]string{"-pg", "8"}, `invalid value "8" for flag -pg: ` + pairs},
		{[]string{"-pg", "0,4"}, `invalid value "0,4" for flag -pg: ` + pairs},
		{[]string{"-pg", "8,4,2"}, `invalid value "8,4,2" for flag -pg: ` + pairs},
		{[]string{"-pg", "8,x"}, `invalid value "8,x" for flag -pg: ` + pairs},
		{[]string{"--ctx", "64", "-pg", "60,8"}, "--ctx 64 is too small for test pp60+tg8 (68 tokens)"},
		{[]string{"-r", "0"}, "-r (--reps) 0: the number of repetitions must be positive"},
		{[]string{"--reps", "-2"}, "-r (--reps) -2: the number of repetitions must be positive"},
		{[]string{"-r", "two"}, `invalid value "two" for flag -r`},
		{[]string{"--ctx", "16", "-p", "8", "-n", "4,32"}, "--ctx 16 is too small for test tg32 (32 tokens)"},
		{[]string{"--threads", "-1"}, "--threads -1: must be between 0"},
		{[]string{"--kv", "q8"}, `--kv "q8": want f32 or f16`},
		{[]string{"--temp", "0"}, "--temp and --seed apply only to a speculative bench (--lookup or --draft)"}, // sampling does not change speed
		{[]string{"--seed", "3"}, "--temp and --seed apply only to a speculative bench (--lookup or --draft)"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--profile"}, "--profile times CUDA kernels: it needs --backend cuda"},
		{[]string{"--profile", "--backend", "cpu"}, "--profile times CUDA kernels: it needs --backend cuda"},
		{[]string{"--profile", "--backend", "cuda", "--json"}, "--profile times CUDA kernels: it needs --backend cuda, and prints a table (no --json)"},
	}
	for _, c := range cases {
		rc, out, errOut := mrun(t, "", append([]string{"bench", "-m", "model.gguf"}, c.args...)...)
		assert.Equal(t, 2, rc, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		requireOneLine(t, errOut)
		assert.True(t, strings.HasPrefix(errOut, "mrun bench: "+c.want), "%v: %q", c.args, errOut)
	}
	rc, _, errOut := mrun(t, "", "bench", "-p", "8")
	assert.Equal(t, 2, rc)
	assert.Contains(t, errOut, "-m FILE is required")
}

// knownReport is a report with fixed figures: three tests of two runs.
func knownReport() *benchReport {
	r := &benchReport{Model: "/models/tiny.gguf", ModelSize: 3 << 20, ModelParams: 1_500_000, Backend: "cpu",
		Threads: 2, KV: "f32", Context: 64, PeakRSS: 40 << 20}
	r.add(engine.BenchResult{Test: engine.BenchTest{Prompt: 64}, Samples: []time.Duration{100 * time.Millisecond, 50 * time.Millisecond}})
	r.add(engine.BenchResult{Test: engine.BenchTest{Gen: 16}, Samples: []time.Duration{time.Second, time.Second}})
	r.add(engine.BenchResult{Test: engine.BenchTest{Prompt: 64, Gen: 16}, Samples: []time.Duration{time.Second, time.Second / 4}})
	return r
}

func TestBenchTableIsLlamaBenchs(t *testing.T) {
	r := knownReport()
	table := r.table([]engine.BenchTest{{Prompt: 64}, {Gen: 16}, {Prompt: 64, Gen: 16}})
	var out strings.Builder
	require.NoError(t, table.header(&out))
	for _, row := range r.Tests {
		require.NoError(t, table.row(&out, row))
	}
	require.NoError(t, r.writeSummary(&out))
	// pp64: 640 and 1280 tokens/s, mean 960, sample deviation 452.55;
	// pp64+tg16: 80 and 320. Only pp and tg tests have a summary line.
	assert.Equal(t, `| model     |     size | params | backend | threads |  kv |      test |                  t/s |
| --------- | -------: | -----: | ------- | ------: | --: | --------: | -------------------: |
| tiny.gguf | 3.00 MiB | 1.50 M | cpu     |       2 | f32 |      pp64 |      960.00 ± 452.55 |
| tiny.gguf | 3.00 MiB | 1.50 M | cpu     |       2 | f32 |      tg16 |         16.00 ± 0.00 |
| tiny.gguf | 3.00 MiB | 1.50 M | cpu     |       2 | f32 | pp64+tg16 |      200.00 ± 169.71 |

prefill   64 tokens:    960.0 tokens/s
decode    16 tokens:     16.0 tokens/s
peak RSS: 40.00 MiB
`, out.String())
}

// benchJSON mirrors the document --json prints.
type benchJSON struct {
	Model        string `json:"model"`
	ModelSize    int64  `json:"model_size"`
	ModelNParams int64  `json:"model_n_params"`
	Backend      string `json:"backend"`
	Threads      int    `json:"threads"`
	KVType       string `json:"kv_type"`
	NCtx         int    `json:"n_ctx"`
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	Tests        []struct {
		Name      string    `json:"name"`
		NPrompt   int       `json:"n_prompt"`
		NGen      int       `json:"n_gen"`
		Reps      int       `json:"reps"`
		SamplesNS []int64   `json:"samples_ns"`
		SamplesTS []float64 `json:"samples_ts"`
		AvgTS     float64   `json:"avg_ts"`
		StddevTS  float64   `json:"stddev_ts"`
	} `json:"tests"`
}

func TestBenchJSONOfKnownFigures(t *testing.T) {
	var out strings.Builder
	require.NoError(t, knownReport().writeJSON(&out))
	var doc benchJSON
	require.NoError(t, json.Unmarshal([]byte(out.String()), &doc))
	assert.Equal(t, "/models/tiny.gguf", doc.Model)
	assert.Equal(t, int64(40<<20), doc.PeakRSSBytes)
	require.Len(t, doc.Tests, 3)
	pp := doc.Tests[0]
	assert.Equal(t, "pp64", pp.Name)
	assert.Equal(t, []int64{100e6, 50e6}, pp.SamplesNS)
	assert.Equal(t, []float64{640, 1280}, pp.SamplesTS)
	assert.Equal(t, 960.0, pp.AvgTS)
	assert.InDelta(t, 452.548, pp.StddevTS, 1e-3)
}

// The real command on a tiny shared model: llama-bench's table, the lines
// compare-llama-bench reads (its own patterns), peak RSS; and the same
// measurements as JSON.
func TestBenchMeasuresASharedModel(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	args := []string{"bench", "-m", model, "-p", "8", "-n", "4", "-r", "2", "--threads", "2"}
	rc, out, errOut := mrun(t, "", args...)
	require.Equal(t, 0, rc, errOut)
	assert.NotContains(t, errOut, "run 1/2", "no progress unless asked or on a terminal")

	lines := strings.Split(out, "\n")
	require.GreaterOrEqual(t, len(lines), 4, out)
	assert.Regexp(t, `^\| model +\| +size \| +params \| backend \| threads \| +kv \| test \| +t/s \|$`, lines[0])
	assert.Regexp(t, `^(\| -+:? )+\|$`, lines[1])
	row := `^\| stories260K\.gguf \| 1\.12 MiB \| 292\.8 K \| cpu +\| +2 \| f16 \| +%s \| +[0-9.]+ ± [0-9.]+ \|$`
	assert.Regexp(t, strings.ReplaceAll(row, "%s", "pp8"), lines[2])
	assert.Regexp(t, strings.ReplaceAll(row, "%s", "tg4"), lines[3])
	for _, pattern := range []string{`prefill\s+8 tokens:\s+([\d.]+)`, `decode\s+4 tokens:\s+([\d.]+)`} {
		m := regexp.MustCompile(pattern).FindStringSubmatch(out)
		require.NotNil(t, m, "%s in %q", pattern, out)
		tps, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		assert.Positive(t, tps)
	}
	assert.Regexp(t, `\npeak RSS: [0-9.]+ [KMG]iB\n$`, out)

	rc, out, errOut = mrun(t, "", append(args, "--json", "-v")...)
	require.Equal(t, 0, rc, errOut)
	var doc benchJSON
	require.NoError(t, json.Unmarshal([]byte(out), &doc), "stdout is one JSON document: %q", out)
	assert.Equal(t, model, doc.Model)
	assert.Equal(t, "cpu", doc.Backend)
	assert.Equal(t, 2, doc.Threads)
	assert.Equal(t, "f16", doc.KVType)
	assert.Equal(t, 8, doc.NCtx, "the context is sized for the longest test")
	assert.Positive(t, doc.ModelNParams)
	assert.Positive(t, doc.PeakRSSBytes)
	require.Len(t, doc.Tests, 2)
	for i, want := range []struct {
		name        string
		prompt, gen int
	}{{"pp8", 8, 0}, {"tg4", 0, 4}} {
		got := doc.Tests[i]
		assert.Equal(t, want.name, got.Name)
		assert.Equal(t, want.prompt, got.NPrompt)
		assert.Equal(t, want.gen, got.NGen)
		assert.Equal(t, 2, got.Reps)
		require.Len(t, got.SamplesNS, 2)
		require.Len(t, got.SamplesTS, 2)
		for j, ns := range got.SamplesNS {
			assert.InDelta(t, float64(want.prompt+want.gen)*1e9/float64(ns), got.SamplesTS[j], 1e-6)
		}
		assert.InDelta(t, (got.SamplesTS[0]+got.SamplesTS[1])/2, got.AvgTS, 1e-6)
		// -v: one line per repetition on stderr, stdout untouched.
		assert.Contains(t, errOut, "bench "+want.name+": run 1/2: ")
		assert.Contains(t, errOut, "bench "+want.name+": run 2/2: ")
	}
}
