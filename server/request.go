package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/metalgraph/metalgraph/chattemplate"
	"github.com/metalgraph/metalgraph/sample"
)

// commonFields are the fields completions and chat completions share.
// Pointers tell an absent field from a zero; fields OpenAI clients send
// that mean nothing here (user, logit_bias, ...) are ignored, as
// llama-server ignores them.
type commonFields struct {
	Model               *string         `json:"model"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"`
	MinP                *float64        `json:"min_p"`
	RepeatPenalty       *float64        `json:"repeat_penalty"`
	Seed                *int64          `json:"seed"`
	N                   *int            `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type completionRequest struct {
	commonFields
	Prompt json.RawMessage `json:"prompt"`
}

type chatRequest struct {
	commonFields
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

// params is a validated request: what to generate and how.
type params struct {
	// maxTokens 0 means until the end of text or of the context, as
	// llama-server's default n_predict -1.
	maxTokens    int
	sampling     sample.Options
	stops        []string
	stream       bool
	includeUsage bool
}

// Bounds on request values.
const (
	maxStops      = 4 // OpenAI's limit
	maxStopLength = 256
	maxMessages   = 4096
)

// decode reads one JSON object from the body into v, mapping each failure
// to the error a client should see.
func decode(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return badRequest("", "the body must hold one JSON object and nothing after it")
		}
		return nil
	}
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var netErr net.Error
	switch {
	case errors.As(err, &netErr) && netErr.Timeout():
		return newError(http.StatusRequestTimeout, invalidRequest, "request_timeout",
			"the request body did not arrive in time; send it at once")
	case errors.As(err, &tooLarge):
		return newError(http.StatusRequestEntityTooLarge, invalidRequest, "request_too_large",
			"the request body is larger than the limit of %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("", "the request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the request body is not valid JSON: %v", err)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("", "the request body must be a JSON object, not %s", typ.Value)
		}
		field := strings.TrimPrefix(typ.Field, "commonFields.") // the embedded struct is no part of the API
		return badRequest(field, "'%s' must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	return badRequest("", "cannot read the request body: %v", err)
}

// jsonKind names a Go kind the way a JSON user would.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "a boolean"
	case kind == "string":
		return "a string"
	case kind == "slice":
		return "an array"
	}
	return "an object"
}

// params validates the shared fields.
func (c *commonFields) params() (params, *apiError) {
	p := params{sampling: sample.Defaults(), stream: c.Stream}
	p.sampling.Seed = uint64(time.Now().UnixNano())
	if c.StreamOptions != nil {
		p.includeUsage = c.StreamOptions.IncludeUsage
	}
	maxTokens := c.MaxTokens
	if c.MaxCompletionTokens != nil {
		maxTokens = c.MaxCompletionTokens
	}
	if maxTokens != nil {
		if *maxTokens < 1 {
			return p, badRequest("max_tokens", "'max_tokens' must be at least 1, got %d", *maxTokens)
		}
		p.maxTokens = *maxTokens
	}
	if c.N != nil && *c.N != 1 {
		return p, badRequest("n", "'n' must be 1 (one choice per request), got %d", *c.N)
	}
	for _, f := range []struct {
		name   string
		v      *float64
		lo, hi float64
		dst    *float32
	}{
		{"temperature", c.Temperature, 0, 2, &p.sampling.Temperature},
		{"top_p", c.TopP, 0, 1, &p.sampling.TopP},
		{"min_p", c.MinP, 0, 1, &p.sampling.MinP},
		{"repeat_penalty", c.RepeatPenalty, 0, math.Inf(1), &p.sampling.RepeatPenalty},
	} {
		switch {
		case f.v == nil:
			continue
		case *f.v < f.lo && math.IsInf(f.hi, 1):
			return p, badRequest(f.name, "'%s' must be at least %g, got %g", f.name, f.lo, *f.v)
		case *f.v < f.lo || *f.v > f.hi:
			return p, badRequest(f.name, "'%s' must be between %g and %g, got %g", f.name, f.lo, f.hi, *f.v)
		}
		*f.dst = float32(*f.v)
	}
	if c.TopK != nil {
		if *c.TopK < 0 {
			return p, badRequest("top_k", "'top_k' must be at least 0 (0 = all tokens), got %d", *c.TopK)
		}
		p.sampling.TopK = *c.TopK
	}
	if c.Seed != nil {
		p.sampling.Seed = uint64(*c.Seed)
	}
	var err *apiError
	p.stops, err = parseStop(c.Stop)
	return p, err
}

// parseStop accepts a string or an array of up to four strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	var many []string
	if json.Unmarshal(raw, &one) == nil {
		many = []string{one}
	} else if json.Unmarshal(raw, &many) != nil {
		return nil, badRequest("stop", "'stop' must be a string or an array of strings")
	}
	if len(many) > maxStops {
		return nil, badRequest("stop", "'stop' may hold at most %d strings, got %d", maxStops, len(many))
	}
	for _, s := range many {
		if s == "" || len(s) > maxStopLength {
			return nil, badRequest("stop", "each 'stop' string must have 1 to %d bytes", maxStopLength)
		}
	}
	return many, nil
}

// prompt reads a completion prompt: a string, or an array of one string.
func (c *completionRequest) prompt() (string, *apiError) {
	var one string
	var many []string
	switch {
	case len(c.Prompt) == 0 || string(c.Prompt) == "null":
		return "", badRequest("prompt", "'prompt' is required")
	case json.Unmarshal(c.Prompt, &one) == nil:
		return one, nil
	case json.Unmarshal(c.Prompt, &many) == nil && len(many) == 1:
		return many[0], nil
	case json.Unmarshal(c.Prompt, &many) == nil:
		return "", badRequest("prompt", "'prompt' must hold exactly one string (batches are not supported), got %d", len(many))
	}
	return "", badRequest("prompt", "'prompt' must be a string")
}

// messages reads a chat: roles system, user or assistant; content a
// string or an array of text parts.
func (c *chatRequest) messages() ([]chattemplate.Message, *apiError) {
	if len(c.Messages) == 0 {
		return nil, badRequest("messages", "'messages' must hold at least one message")
	}
	if len(c.Messages) > maxMessages {
		return nil, badRequest("messages", "'messages' may hold at most %d messages", maxMessages)
	}
	out := make([]chattemplate.Message, len(c.Messages))
	for i, m := range c.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		switch m.Role {
		case "system", "developer", "user", "assistant":
		default:
			return nil, badRequest(param+".role", "%s.role %q is not one of system, user, assistant", param, m.Role)
		}
		if m.Role == "developer" { // OpenAI's newer name for the system role
			m.Role = "system"
		}
		text, err := contentText(m.Content)
		if err != nil {
			return nil, badRequest(param+".content", "%s.content must be a string or an array of text parts", param)
		}
		out[i] = chattemplate.Message{Role: m.Role, Content: text}
	}
	return out, nil
}

func contentText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content part of type %q", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}
