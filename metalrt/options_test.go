package metalrt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMSLVersion(t *testing.T) {
	for v, want := range map[string]uint{"3.1": 196609, "2.4": 131076, "3.0": 196608, "3.2": 196610} {
		got, err := mslVersion(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "3", "3.x", "0.1", "-1.2"} {
		_, err := mslVersion(v)
		assert.ErrorContains(t, err, "want major.minor", v)
	}
	got, err := mslVersion(LanguageVersion)
	require.NoError(t, err, "the kernels' own version parses")
	assert.GreaterOrEqual(t, got, uint(196609), "MSL 3.1 or later")
}
