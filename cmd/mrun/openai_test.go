package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openaiModulesEnv names a node_modules folder holding the openai package
// (.ci/run installs it); without it the test installs one itself.
const openaiModulesEnv = "MRUN_OPENAI_NODE_MODULES"

// TestOpenAINodeClient drives a real 'mrun serve' with the official
// openai npm client: it lists the model, and a chat completion streamed
// adds up to the same answer as unstreamed at temperature 0.
func TestOpenAINodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	modules := os.Getenv(openaiModulesEnv)
	if modules == "" {
		dir := t.TempDir()
		install := exec.Command("npm", "install", "--silent", "--no-audit", "--no-fund", "openai")
		install.Dir = dir
		out, err := install.CombinedOutput()
		require.NoError(t, err, "npm install openai (or set %s): %s", openaiModulesEnv, out)
		modules = filepath.Join(dir, "node_modules")
	}
	p, url := startServe(t, "--api-key", "sesame", "--parallel", "2")
	script, err := filepath.Abs(filepath.Join("testdata", "openai_client.cjs"))
	require.NoError(t, err)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "MRUN_URL="+url, "MRUN_KEY=sesame")
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "node: %s\nserver: %s", stderr, p.stderr)
	var got struct {
		Models []string
		Chat   string
		Finish string
		Usage  struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		}
		Streamed string
		Chunks   int
		Refused  string
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, []string{"stories260K"}, got.Models)
	assert.NotEmpty(t, got.Chat)
	assert.Equal(t, got.Chat, got.Streamed, "the streamed chunks add up to the unstreamed answer")
	assert.Greater(t, got.Chunks, 3)
	assert.Contains(t, []string{"stop", "length"}, got.Finish)
	assert.Positive(t, got.Usage.Completion)
	assert.Equal(t, got.Usage.Prompt+got.Usage.Completion, got.Usage.Total)
	assert.Equal(t, "401 invalid_api_key", got.Refused)
}
