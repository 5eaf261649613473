package chattemplate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/internal/shareddata"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// chat is the conversation every template renders: a system message, two
// exchanges (the second answer padded with spaces, which some templates
// strip) and a last question.
var chat = []chattemplate.Message{
	{Role: "system", Content: "You are a helpful assistant"},
	{Role: "user", Content: "Hello"},
	{Role: "assistant", Content: "Hi there"},
	{Role: "user", Content: "Who are you"},
	{Role: "assistant", Content: "   I am an assistant   "},
	{Role: "user", Content: "Another question"},
}

// The template strings in testdata are the tokenizer_config.json chat
// templates of the models named by the files.
func TestRealTemplates(t *testing.T) {
	for _, c := range []struct {
		file     string
		messages []chattemplate.Message
		want     string
	}{
		{"mistral-v0.1.jinja", chat,
			"<s> [INST] You are a helpful assistant\n\nHello [/INST] Hi there</s> [INST] Who are you [/INST]    I am an assistant   </s> [INST] Another question [/INST]"},
		{"mistral-v0.2.jinja", chat[1:],
			"<s>[INST] Hello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]"},
		{"mistral-v0.3.jinja", chat,
			"<s>[INST] Hello[/INST] Hi there</s>[INST] Who are you[/INST] I am an assistant</s>[INST] You are a helpful assistant\n\nAnother question[/INST]"},
		{"llama-2.jinja", chat,
			"<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are you [/INST] I am an assistant </s><s>[INST] Another question [/INST]"},
		{"zephyr.jinja", chat,
			"<|system|>\nYou are a helpful assistant</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n<|user|>\nWho are you</s>\n<|assistant|>\n   I am an assistant   </s>\n<|user|>\nAnother question</s>\n<|assistant|>\n"},
		{"", chat, // Default
			"<s>[INST] You are a helpful assistant\n\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an assistant   </s>[INST] Another question [/INST]"},
	} {
		t.Run(c.file, func(t *testing.T) {
			tmpl := compile(t, c.file)
			got, err := tmpl.Render(c.messages, true)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			require.True(t, tmpl.StartsWithBOS(got) == (c.file != "zephyr.jinja"))
		})
	}
}

func TestTemplatesRaiseOnConversationsTheyRefuse(t *testing.T) {
	for _, c := range []struct {
		file     string
		messages []chattemplate.Message
		want     string
	}{
		{"mistral-v0.2.jinja", chat, "chat template: Conversation roles must alternate user/assistant/user/assistant/..."},
		{"llama-2.jinja", chat[1:3:3][1:], "chat template: Conversation roles must alternate user/assistant/user/assistant/..."},
		{"", []chattemplate.Message{{Role: "user", Content: "a"}, {Role: "user", Content: "b"}},
			"chat template: conversation roles must alternate user/assistant/user/assistant/... after an optional system message"},
	} {
		_, err := compile(t, c.file).Render(c.messages, true)
		require.Error(t, err, c.file)
		require.Contains(t, err.Error(), c.want[len("chat template: "):], c.file)
	}
}

func TestABrokenTemplateIsAnError(t *testing.T) {
	_, err := chattemplate.New("{% for m in messages %}", "<s>", "</s>")
	require.ErrorContains(t, err, "chat template: ")
}

func compile(t *testing.T, file string) *chattemplate.Template {
	t.Helper()
	var source string
	if file != "" {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		require.NoError(t, err)
		source = string(b)
	}
	tmpl, err := chattemplate.New(source, "<s>", "</s>")
	require.NoError(t, err)
	return tmpl
}

func TestAModelWithoutATemplateGetsTheDefault(t *testing.T) {
	f, err := gguf.Open(shareddata.Path(t, "models", "stories260K.gguf"))
	require.NoError(t, err)
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	require.NoError(t, err)
	tmpl, err := chattemplate.FromGGUF(f, tok)
	require.NoError(t, err)
	require.Equal(t, chattemplate.Default, tmpl.Source)
	got, err := tmpl.Render(chat[1:2], true)
	require.NoError(t, err)
	require.Equal(t, "<s>[INST] Hello [/INST]", got)
}
