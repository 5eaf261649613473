package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/internal/shareddata"
)

func TestChatKeepsTheConversationUntilReset(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	chat := func(stdin string) string {
		rc, out, stderr := mrun(t, stdin, "chat", "-m", model, "--temp", "0", "-n", "24")
		require.Equal(t, 0, rc, stderr)
		return out
	}
	first := chat("Once upon a time\n")
	require.NotEmpty(t, strings.TrimSpace(first))
	alone := chat("And then?\n")
	all := chat("Once upon a time\n\nAnd then?\n/reset\nOnce upon a time\n/exit\nignored\n")
	require.True(t, strings.HasPrefix(all, first), all)
	require.True(t, strings.HasSuffix(all, first), "after /reset the same message gets the same answer: %q", all)
	second := strings.TrimSuffix(strings.TrimPrefix(all, first), first)
	require.NotEmpty(t, strings.TrimSpace(second))
	require.NotEqual(t, alone, second, "the second answer follows the first exchange")
}

func TestChatUsageErrors(t *testing.T) {
	rc, _, stderr := mrun(t, "", "chat", "-m", "x.gguf", "hello")
	assert.Equal(t, 2, rc)
	assert.Equal(t, "mrun chat: unexpected argument \"hello\" (type messages on standard input) (see 'mrun help chat')\n", stderr)
	rc, _, stderr = mrun(t, "", "chat")
	assert.Equal(t, 2, rc)
	assert.Equal(t, "mrun chat: -m FILE is required (see 'mrun help chat')\n", stderr)
}

// TestChatCtrlCStopsTheAnswerNotTheChat interrupts a long answer: mrun
// chat prints less than the whole answer, then takes the next message.
func TestChatCtrlCStopsTheAnswerNotTheChat(t *testing.T) {
	model := shareddata.Path(t, "models", "stories260K.gguf")
	_, whole, _ := mrun(t, "Once upon a time\n", "chat", "-m", model, "--temp", "0", "-n", "1500")

	cmd := exec.Command(os.Args[0], "chat", "-m", model, "--temp", "0", "-n", "1500")
	cmd.Env = append(os.Environ(), asMainEnv+"=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	out := bufio.NewReader(stdout)
	_, err = io.WriteString(stdin, "Once upon a time\n")
	require.NoError(t, err)
	firstByte, err := out.ReadByte()
	require.NoError(t, err)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	interrupted, err := out.ReadString('\n')
	require.NoError(t, err)
	interrupted = string(firstByte) + interrupted
	require.Less(t, len(interrupted), len(whole), "the answer stopped early")
	require.True(t, strings.HasPrefix(whole, interrupted[:len(interrupted)-1]))

	_, err = io.WriteString(stdin, "/reset\nOnce upon a time\n/exit\n")
	require.NoError(t, err)
	rest, err := io.ReadAll(out)
	require.NoError(t, err)
	require.Equal(t, whole, string(rest), "the chat went on")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("mrun chat did not exit")
	}
}
