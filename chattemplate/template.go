package chattemplate

import (
	"fmt"
	"strings"

	"github.com/ardanlabs/jinja"

	"github.com/metalgraph/metalgraph/gguf"
	"github.com/metalgraph/metalgraph/tokenizer"
)

// Key is the GGUF metadata key of a model's chat template.
const Key = "tokenizer.chat_template"

// Default is the template of models that carry none: the Mistral/Llama-2
// instruction format.
const Default = `{{ bos_token }}
{%- if messages and messages[0]['role'] == 'system' %}
	{%- set system = messages[0]['content'] + '\n\n' %}
	{%- set messages = messages[1:] %}
{%- else %}
	{%- set system = '' %}
{%- endif %}
{%- for message in messages %}
	{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
		{{- raise_exception('conversation roles must alternate user/assistant/user/assistant/... after an optional system message') }}
	{%- endif %}
	{%- if message['role'] == 'user' %}
		{{- '[INST] ' + (system if loop.first else '') + message['content'] + ' [/INST]' }}
	{%- else %}
		{{- message['content'] + eos_token }}
	{%- endif %}
{%- endfor %}`

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Template renders conversations for one model.
type Template struct {
	compiled *jinja.Template
	bos, eos string
	// Source is the template text (Default when the model has none).
	Source string
}

// New compiles source ("" means Default) with the texts of the model's
// BOS and EOS tokens.
func New(source, bos, eos string) (*Template, error) {
	if source == "" {
		source = Default
	}
	c, err := jinja.Compile(source)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	return &Template{compiled: c, bos: bos, eos: eos, Source: source}, nil
}

// FromGGUF compiles the chat template of a model file, or Default.
func FromGGUF(f *gguf.File, tok *tokenizer.Tokenizer) (*Template, error) {
	var source string
	if f.Has(Key) {
		var err error
		if source, err = f.String(Key); err != nil {
			return nil, fmt.Errorf("chat template: %w", err)
		}
	}
	return New(source, tok.Piece(tok.BOS()), tok.Piece(tok.EOS()))
}

// Render returns the prompt text of msgs; addGenerationPrompt asks the
// template to open the assistant's turn.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	out, err := t.compiled.Render(map[string]any{
		"messages":              list,
		"bos_token":             t.bos,
		"eos_token":             t.eos,
		"add_generation_prompt": addGenerationPrompt,
	})
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	return out, nil
}

// StartsWithBOS reports whether rendered text begins with the BOS token's
// text, so that encoding it must not add another.
func (t *Template) StartsWithBOS(text string) bool {
	return t.bos != "" && strings.HasPrefix(text, t.bos)
}
