package openai

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"parley/app/provider"
)

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []chatMessage  `json:"messages"`
	Tools         []chatTool     `json:"tools,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role string `json:"role"`
	// Content is omitted only on an assistant message that carries tool
	// calls and no text, as the API allows.
	Content    *string        `json:"content,omitempty"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	Index    *int         `json:"index,omitempty"` // in stream deltas only
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Parameters  map[string]any `json:"parameters"`
}

// chatRequestOf maps a provider request to the wire. Documents are not
// sent: the engine has rendered them into the system prompt.
func chatRequestOf(req provider.Request) chatRequest {
	out := chatRequest{
		Model:         req.Model,
		MaxTokens:     max(req.MaxTokens, 0),
		Stream:        true,
		StreamOptions: &streamOptions{IncludeUsage: true},
	}
	for _, m := range req.Messages {
		cm := chatMessage{Role: m.Role}
		content := m.Content
		if m.Role != provider.RoleAssistant || len(m.ToolCalls) == 0 || content != "" {
			cm.Content = &content
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			cm.ToolCalls = append(cm.ToolCalls, chatToolCall{ID: tc.ID, Type: "function", Function: chatFunction{Name: tc.Name, Arguments: args}})
		}
		if m.Role == provider.RoleTool {
			cm.ToolCallID = m.ToolCallID
		}
		out.Messages = append(out.Messages, cm)
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: toolFunction{Name: t.Name, Description: t.Description, Parameters: params}})
	}
	return out
}

// chunk is one streamed event, or a whole non-streamed completion.
type chunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Delta        *delta  `json:"delta"`
		Message      *delta  `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type delta struct {
	Content   *string        `json:"content"`
	ToolCalls []chatToolCall `json:"tool_calls"`
}

// stream accumulates one try's answer; emitted survives retries, because
// once a token reached the caller nothing may be tried again.
type stream struct {
	onToken func(string)
	emitted bool
	model   string

	text   strings.Builder
	calls  map[int]*provider.ToolCall
	last   int
	finish string
	usage  *provider.Usage
	done   bool
}

func (s *stream) reset() {
	s.text.Reset()
	s.calls = nil
	s.last = 0
	s.finish = ""
	s.usage = nil
	s.done = false
}

// read reads the response body: an SSE stream of chunks up to [DONE], or,
// from servers that ignore "stream", one JSON completion.
func (c *Client) read(ctx context.Context, body io.Reader, req provider.Request, s *stream) (*provider.Response, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	first, err := firstByte(br)
	if err != nil {
		return nil, c.broken(ctx, err, "the response was empty")
	}
	if first == '{' {
		var ch chunk
		if err := json.NewDecoder(io.LimitReader(br, maxLine)).Decode(&ch); err != nil {
			return nil, c.broken(ctx, err, "the response is not valid JSON")
		}
		if err := c.apply(ctx, &ch, s, true); err != nil {
			return nil, err
		}
		s.done = true
		return c.response(req, s), nil
	}

	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "" || field == "":
			continue // event separator or comment
		case field == "data":
			if strings.TrimSpace(value) == "[DONE]" {
				s.done = true
				return c.response(req, s), nil
			}
			var ch chunk
			if err := json.Unmarshal([]byte(value), &ch); err != nil {
				return nil, &provider.Error{Message: fmt.Sprintf("%s: the stream sent a malformed event: %s", c.cfg.Name, clipText(c.scrub(value), 80)), Err: err}
			}
			if err := c.apply(ctx, &ch, s, false); err != nil {
				return nil, err
			}
		case field == "event" || field == "id" || field == "retry":
			continue
		default:
			return nil, &provider.Error{Message: fmt.Sprintf("%s: the response is not an event stream (it starts %q); check the base URL", c.cfg.Name, clipText(c.scrub(line), 60))}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, c.broken(ctx, err, "the stream broke off")
	}
	if s.finish != "" {
		return c.response(req, s), nil // some servers end without [DONE]
	}
	return nil, &provider.Error{Message: c.cfg.Name + ": the stream ended before the answer was complete", Retryable: true}
}

// broken explains a body that could not be read: the context's doing, or
// the connection's (worth retrying while nothing was streamed).
func (c *Client) broken(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == io.EOF {
		return &provider.Error{Message: c.cfg.Name + ": " + what, Retryable: true, Err: err}
	}
	if _, ok := err.(*json.SyntaxError); ok {
		return &provider.Error{Message: c.cfg.Name + ": " + what, Err: err}
	}
	return &provider.Error{Message: fmt.Sprintf("%s: %s: %s", c.cfg.Name, what, c.scrub(err.Error())), Retryable: true, Err: err}
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\r' && b != '\t' {
			return b, br.UnreadByte()
		}
	}
}

// apply adds one chunk to the answer, streaming its text.
func (c *Client) apply(ctx context.Context, ch *chunk, s *stream, whole bool) error {
	if msg := apiErrorMessage(ch.Error); msg != "" {
		return &provider.Error{Message: fmt.Sprintf("%s: the model failed: %s", c.cfg.Name, clipText(c.scrub(msg), maxDetail))}
	}
	if ch.Model != "" {
		s.model = ch.Model
	}
	if ch.Usage != nil {
		s.usage = &provider.Usage{InputTokens: ch.Usage.PromptTokens, OutputTokens: ch.Usage.CompletionTokens}
	}
	if whole && len(ch.Choices) == 0 {
		return &provider.Error{Message: c.cfg.Name + ": the response has no answer (no choices)"}
	}
	if len(ch.Choices) == 0 {
		return nil
	}
	choice := ch.Choices[0]
	d := choice.Delta
	if whole || d == nil {
		d = choice.Message
	}
	if d != nil {
		if d.Content != nil && *d.Content != "" {
			if err := ctx.Err(); err != nil {
				return err
			}
			s.text.WriteString(*d.Content)
			s.emitted = true
			if s.onToken != nil {
				s.onToken(*d.Content)
			}
		}
		for i, tc := range d.ToolCalls {
			idx := s.last
			switch {
			case tc.Index != nil:
				idx = *tc.Index
			case whole:
				idx = i
			case tc.ID != "" && s.calls[s.last] != nil && s.calls[s.last].ID != "":
				idx = s.last + 1 // no index: a new id starts a new call
			}
			if s.calls == nil {
				s.calls = map[int]*provider.ToolCall{}
			}
			call := s.calls[idx]
			if call == nil {
				call = &provider.ToolCall{}
				s.calls[idx] = call
			}
			if tc.ID != "" {
				call.ID = tc.ID
			}
			call.Name += tc.Function.Name
			call.Arguments += tc.Function.Arguments
			s.last = idx
		}
	}
	if choice.FinishReason != nil && *choice.FinishReason != "" {
		s.finish = *choice.FinishReason
	}
	return nil
}

// response builds the finished answer, estimating usage the server did not
// report.
func (c *Client) response(req provider.Request, s *stream) *provider.Response {
	res := &provider.Response{Text: s.text.String(), Model: s.model}
	idx := make([]int, 0, len(s.calls))
	for i := range s.calls {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var callText strings.Builder
	for n, i := range idx {
		call := *s.calls[i]
		if call.ID == "" {
			call.ID = fmt.Sprintf("call_%d", n+1)
		}
		if strings.TrimSpace(call.Arguments) == "" {
			call.Arguments = "{}"
		}
		res.ToolCalls = append(res.ToolCalls, call)
		callText.WriteString(call.Name + call.Arguments)
	}
	switch s.finish {
	case "", "stop", "eos", "end_turn":
		res.FinishReason = provider.FinishStop
	case "tool_calls", "function_call":
		res.FinishReason = provider.FinishToolCalls
	case "length", "max_tokens":
		res.FinishReason = provider.FinishLength
	default:
		res.FinishReason = s.finish
	}
	if len(res.ToolCalls) > 0 && res.FinishReason == provider.FinishStop {
		res.FinishReason = provider.FinishToolCalls // some servers say "stop" after tool calls
	}
	if s.usage != nil {
		res.Usage = *s.usage
	} else {
		var prompt strings.Builder
		for _, m := range req.Messages {
			prompt.WriteString(m.Content + "\n")
			for _, tc := range m.ToolCalls {
				prompt.WriteString(tc.Name + tc.Arguments + "\n")
			}
		}
		res.Usage = provider.Usage{
			InputTokens:  provider.EstimateTokens(prompt.String()),
			OutputTokens: provider.EstimateTokens(res.Text + callText.String()),
		}
	}
	return res
}
