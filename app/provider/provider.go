// Package provider defines where a bot's answers come from: a Provider takes
// a conversation's prompt (messages, retrieved documents, tools) and streams
// back the answer, tool calls and usage. local/ answers offline and
// deterministically; openai/ talks to any OpenAI-compatible endpoint.
package provider

import (
	"context"
	"errors"
)

// Roles of prompt messages, as chat-completion APIs name them.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one prompt message.
type Message struct {
	Role    string
	Content string
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall
	// ToolCallID links a tool message to the call it answers.
	ToolCallID string
	// Name is the tool's name on a tool message.
	Name string
}

// Document is a retrieved dataset record given to the model as context; the
// engine also renders documents into the system prompt for providers that
// only read messages.
type Document struct {
	ID        string
	DatasetID string
	Text      string
	Source    string
	Score     float64 // normalised: higher is better, 0..1
	// Keyword, Vector, Fused and Rerank are the scores that placed the
	// document (nil: that method did not find or score it), for the turn's "why".
	Keyword, Vector, Fused, Rerank *float64
}

// Tool is an ability offered to the model; Parameters is a JSON Schema object.
type Tool struct {
	Name        string
	Description string
	Parameters  map[string]any
}

// ToolCall is the model asking to run a tool with JSON arguments.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string
}

// Request is one model call.
type Request struct {
	Model     string
	Messages  []Message
	Documents []Document
	Tools     []Tool
	// MaxTokens bounds the answer (0: the provider's default).
	MaxTokens int
}

// Usage counts tokens (estimated where the provider does not say).
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// Finish reasons.
const (
	FinishStop      = "stop"
	FinishToolCalls = "tool_calls"
	FinishLength    = "length"
)

// Response is a finished model call.
type Response struct {
	Text         string
	ToolCalls    []ToolCall
	Usage        Usage
	FinishReason string
	// Model is the model that answered, as the provider names it.
	Model string
}

// Provider produces answers. Complete calls onToken with each piece of text
// as it is produced (it may be nil), then returns the whole response; the
// concatenated tokens equal Response.Text.
type Provider interface {
	Name() string
	Complete(ctx context.Context, req Request, onToken func(string)) (*Response, error)
}

// Moderator is a provider that can screen a user's message before any model
// sees it (OpenAI-compatible POST /moderations). The engine asks it when a
// bot has moderation on, and checks a word list for providers without one.
type Moderator interface {
	// Moderate reports whether text is flagged and the categories it is
	// flagged for; an error wrapping ErrNoModeration means the endpoint turned
	// out to offer no moderation.
	Moderate(ctx context.Context, text string) (flagged bool, categories []string, err error)
}

// ErrNoModeration means a provider's endpoint does not offer moderation
// (it has no such route), so another check must be used instead.
var ErrNoModeration = errors.New("provider: no moderation endpoint")

// Error is a provider failure with a message fit for the user (no secrets,
// no internals) and whether trying again may help.
type Error struct {
	Message   string
	Retryable bool
	Status    int // HTTP status from a remote provider, if any
	Err       error
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrNoProvider means a bot's model names a provider that is not configured.
var ErrNoProvider = errors.New("provider: not configured")

// EstimateTokens is a rough token count (about four characters a token),
// used where a provider does not report usage and for history windows.
func EstimateTokens(s string) int {
	n := len(s) / 4
	if n == 0 && s != "" {
		n = 1
	}
	return n
}

// Embedder turns texts into vectors (OpenAI-compatible POST /embeddings):
// semantic search embeds a dataset's records and each question with it.
type Embedder interface {
	// Embed returns one vector per input, in order, all of one length.
	Embed(ctx context.Context, model string, inputs []string) ([][]float32, error)
}

// RerankResult is a document's place after reranking: its index in the
// documents sent and the model's relevance score (higher is better).
type RerankResult struct {
	Index int
	Score float64
}

// Reranker orders candidate documents by relevance to a query (POST /rerank
// as vLLM, llama.cpp server, Infinity, TEI, Jina and Cohere serve it).
type Reranker interface {
	// Rerank returns at most topN results, best first.
	Rerank(ctx context.Context, model, query string, documents []string, topN int) ([]RerankResult, error)
}
