//go:build darwin

package metalrt

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/cpurt"
	"github.com/metalgraph/metalgraph/internal/opcases"
	"github.com/metalgraph/metalgraph/internal/runtimecheck"
	"github.com/metalgraph/metalgraph/plan"
)

// pageAligned copies b into anonymous memory-mapped pages, as a mapped
// model file would be: Metal wraps only page-aligned memory.
func pageAligned(t *testing.T, b []byte) []byte {
	t.Helper()
	n := (len(b) + syscall.Getpagesize() - 1) / syscall.Getpagesize() * syscall.Getpagesize()
	m, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Munmap(m) })
	copy(m, b)
	return m[:len(b)]
}

func TestAvailable(t *testing.T) {
	assert.True(t, Available(), "a Mac with Metal")
}

// TestContractsAgainstCPU runs every contract's kernel on random inputs
// and compares each output with the CPU runtime's within the case's NMSE
// bound. The weights buffer spans several no-copy buffers. The ragged
// cases (row, column and head-size tails) are those the Linux emulator
// runs too.
func TestContractsAgainstCPU(t *testing.T) {
	t.Run("cases", func(t *testing.T) { contractsAgainstCPU(t, opcases.All) })
	t.Run("ragged", func(t *testing.T) { contractsAgainstCPU(t, raggedCases) })
}

func contractsAgainstCPU(t *testing.T, build func() ([]opcases.Case, []byte)) {
	cases, raw := build()
	weights := pageAligned(t, raw)
	cpu, err := cpurt.New(weights, cpurt.Options{})
	require.NoError(t, err)
	defer cpu.Close()
	gpu, err := New(weights, Options{MaxBufferLength: 4 << 20})
	require.NoError(t, err)
	defer gpu.Close()
	runtimecheck.AgainstCPU(t, cpu, gpu.Compile, cases)
}

func TestNewRefusesUnalignedWeights(t *testing.T) {
	w := pageAligned(t, make([]byte, 1<<16))
	_, err := New(w[4:], Options{})
	require.ErrorContains(t, err, "not page-aligned")
	_, err = New(nil, Options{})
	require.ErrorContains(t, err, "empty weights")
	_, err = New(w, Options{MaxBufferLength: -1})
	require.ErrorContains(t, err, "maximum buffer length -1")
}

func TestCompileAndRunErrors(t *testing.T) {
	cases, raw := opcases.All()
	weights := pageAligned(t, raw)
	rt, err := New(weights, Options{})
	require.NoError(t, err)
	assert.Equal(t, "metal", rt.Name())

	_, err = rt.Compile(nil)
	require.ErrorContains(t, err, "nil plan")
	small, err := New(weights[:1<<14], Options{})
	require.NoError(t, err)
	_, err = small.Compile(cases[0].Plan)
	require.ErrorContains(t, err, "needs a weights buffer of")
	require.NoError(t, small.Close())

	var embed opcases.Case
	for _, c := range cases {
		if c.Plan.Commands[0].Dispatches[0].Kernel == plan.Name("embed", plan.WeightTypes[0]) {
			embed = c
		}
	}
	require.NotNil(t, embed.Plan)
	prog, err := rt.Compile(embed.Plan)
	require.NoError(t, err)
	_, err = prog.Run(embed.Tokens[:1], 0)
	require.ErrorContains(t, err, "takes steps of 5 tokens, got 1")
	bad := append([]int32(nil), embed.Tokens...)
	bad[2] = 40
	_, err = prog.Run(bad, 0)
	require.ErrorContains(t, err, "token 2 of the step has id 40, outside the vocabulary of 40 tokens")

	// A closed program frees its buffers and refuses to run; the runtime
	// and its other programs go on.
	other, err := rt.Compile(embed.Plan)
	require.NoError(t, err)
	require.NoError(t, other.Close())
	require.NoError(t, other.Close(), "closing twice does nothing")
	_, err = other.Run(embed.Tokens, 0)
	require.ErrorContains(t, err, "is closed")
	_, err = prog.Run(embed.Tokens, 0)
	require.NoError(t, err)

	require.NoError(t, rt.Close())
	_, err = prog.Run(embed.Tokens, 0)
	require.ErrorContains(t, err, "the runtime is closed")
	_, err = rt.Compile(embed.Plan)
	require.ErrorContains(t, err, "the runtime is closed")
}
