package cudart

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeEvents stamps each event with a clock that every launch advances by
// its own duration, as a stream's events would.
type fakeEvents struct {
	clock   float64
	stamps  map[int]float64
	failAt  int // event index whose mark fails; -1 never
	elapses int
}

func (f *fakeEvents) mark(i int) error {
	if i == f.failAt {
		return errors.New("cuEventRecord: CUDA_ERROR_INVALID_HANDLE")
	}
	f.stamps[i] = f.clock
	return nil
}

func (f *fakeEvents) elapsed(i, j int) (float64, error) {
	f.elapses++
	return f.stamps[j] - f.stamps[i], nil
}

func TestTimeLaunchesTimesEachLaunch(t *testing.T) {
	f := &fakeEvents{stamps: map[int]float64{}, failAt: -1}
	durations := []float64{0.5, 0.25, 2}
	var ran []int
	ms, err := timeLaunches(f, len(durations), func(i int) error {
		ran = append(ran, i)
		f.clock += durations[i]
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 2}, ran)
	require.Equal(t, durations, ms)
	require.Equal(t, 3, f.elapses)
}

func TestTimeLaunchesStopsAtTheFirstFailure(t *testing.T) {
	f := &fakeEvents{stamps: map[int]float64{}, failAt: -1}
	_, err := timeLaunches(f, 3, func(i int) error {
		if i == 1 {
			return errors.New("cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED")
		}
		return nil
	})
	require.EqualError(t, err, "cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED")
	require.Zero(t, f.elapses, "no times are read after a failed launch")

	f.failAt = 2
	_, err = timeLaunches(f, 3, func(int) error { return nil })
	require.ErrorContains(t, err, "cuEventRecord")
}

// TestProfileReport: the report gives each kernel's mean time per step,
// slowest first, its share, and for weight readers the streaming rate
// against the copy bandwidth.
func TestProfileReport(t *testing.T) {
	var p Profile
	for range 2 {
		p.add([]timedKernel{
			{kernel: "rmsnorm", ms: 0.01},
			{kernel: "matvec_q4_0", weightBytes: 4.3e6, ms: 0.002}, // 2.15 TB/s: half the copy rate
			{kernel: "rmsnorm", ms: 0.01},
			{kernel: "matvec_q4_0", weightBytes: 4.3e6, ms: 0.002},
			{kernel: "attn_decode_f16", ms: 0.05},
		}, 0.1)
	}
	var b strings.Builder
	require.NoError(t, p.Report(&b, "decode"))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 5)
	require.Equal(t, "decode: 2 steps; replay 0.100 ms/step, kernels one by one 0.074 ms/step", lines[0])
	require.Equal(t, []string{"kernel", "launches/step", "ms/step", "share", "weights", "MB/step", "GB/s", "of", "copy"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"attn_decode_f16", "1", "0.0500", "67.6%", "-", "-", "-"}, strings.Fields(lines[2]))
	require.Equal(t, []string{"rmsnorm", "2", "0.0200", "27.0%", "-", "-", "-"}, strings.Fields(lines[3]))
	require.Equal(t, []string{"matvec_q4_0", "2", "0.0040", "5.4%", "8.6", "2150", "50%"}, strings.Fields(lines[4]))
}

func TestProfileReportWithoutSteps(t *testing.T) {
	var b strings.Builder
	require.NoError(t, (&Profile{}).Report(&b, "decode"))
	require.Equal(t, "decode: no steps profiled\n", b.String())
}
