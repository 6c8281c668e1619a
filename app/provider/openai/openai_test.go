package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"parley/app/provider"
)

// fakeOpenAI is an in-process OpenAI-compatible server. Each request to
// /v1/chat/completions is answered by the next handler of its script (the
// last one repeats); every request is recorded.
type fakeOpenAI struct {
	*httptest.Server
	mu       sync.Mutex
	script   []http.HandlerFunc
	requests []recorded
}

type recorded struct {
	Method, Path, Auth string
	Body               map[string]any
}

func newFake(t *testing.T, script ...http.HandlerFunc) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{script: script}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &rec.Body); err != nil {
				t.Errorf("request body is not JSON: %v: %s", err, raw)
			}
		}
		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, rec)
		f.mu.Unlock()
		switch r.URL.Path {
		case "/v1/chat/completions":
			f.script[min(n, len(f.script)-1)](w, r)
		case "/v1/models":
			if r.Header.Get("Authorization") != "Bearer sk-test" {
				jsonError(http.StatusUnauthorized, "Incorrect API key provided")(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-b","object":"model"},{"id":"gpt-a","object":"model"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeOpenAI) calls() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeOpenAI) client(cfg Config) *Client {
	cfg.BaseURL = f.URL + "/v1"
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = time.Millisecond
	}
	return New(cfg)
}

// sse answers with the given events as a stream, then [DONE].
func sse(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

func jsonError(status int, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":%q,"type":"test_error","code":null}}`, message)
	}
}

func content(s string) string {
	b, _ := json.Marshal(s)
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-test","choices":[{"index":0,"delta":{"content":%s},"finish_reason":null}]}`, b)
}

func finish(reason string) string {
	return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-test","choices":[{"index":0,"delta":{},"finish_reason":%q}]}`, reason)
}

const usage = `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-test","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`

func toolDelta(index int, id, name, args string) string {
	fn, _ := json.Marshal(map[string]string{"name": name, "arguments": args})
	if name == "" {
		fn, _ = json.Marshal(map[string]string{"arguments": args})
	}
	idPart := ""
	if id != "" {
		idPart = fmt.Sprintf(`"id":%q,"type":"function",`, id)
	}
	return fmt.Sprintf(`{"model":"gpt-test","choices":[{"index":0,"delta":{"tool_calls":[{"index":%d,%s"function":%s}]},"finish_reason":null}]}`, index, idPart, fn)
}

func ask(q string) provider.Request {
	return provider.Request{Model: "gpt-test", Messages: []provider.Message{{Role: provider.RoleUser, Content: q}}}
}

// complete runs one call, collecting the streamed tokens.
func complete(ctx context.Context, c *Client, req provider.Request) (*provider.Response, []string, error) {
	var tokens []string
	res, err := c.Complete(ctx, req, func(s string) { tokens = append(tokens, s) })
	return res, tokens, err
}

func providerError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *provider.Error", err, err)
	}
	return pe
}

func TestCompleteStreamsText(t *testing.T) {
	f := newFake(t, sse(`{"model":"gpt-test","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
		content("Hello"), content(" there"), content("!"), finish("stop"), usage))
	res, tokens, err := complete(context.Background(), f.client(Config{APIKey: "sk-test"}), ask("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Hello", " there", "!"}, tokens); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	want := &provider.Response{Text: "Hello there!", Usage: provider.Usage{InputTokens: 12, OutputTokens: 3}, FinishReason: provider.FinishStop, Model: "gpt-test"}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestCompleteRequestBody(t *testing.T) {
	f := newFake(t, sse(content("ok"), finish("stop")))
	req := provider.Request{
		Model: "gpt-test",
		Messages: []provider.Message{
			{Role: provider.RoleSystem, Content: "You are helpful.\n\nKnowledge:\n- Refunds take 14 days."},
			{Role: provider.RoleUser, Content: "what is 12*7?"},
			{Role: provider.RoleAssistant, ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "calculator", Arguments: `{"expression":"12*7"}`}}},
			{Role: provider.RoleTool, ToolCallID: "call_1", Name: "calculator", Content: "84"},
		},
		Documents: []provider.Document{{ID: "r1", Text: "Refunds take 14 days.", Score: 1}},
		Tools: []provider.Tool{
			{Name: "calculator", Description: "Evaluates arithmetic.", Parameters: map[string]any{
				"type": "object", "properties": map[string]any{"expression": map[string]any{"type": "string"}}, "required": []any{"expression"}}},
			{Name: "current_datetime", Description: "The current date and time."},
		},
		MaxTokens: 256,
	}
	res, _, err := complete(context.Background(), f.client(Config{APIKey: "sk-test"}), req)
	if err != nil {
		t.Fatal(err)
	}
	// no usage in the stream: estimated
	if want := (provider.Usage{InputTokens: provider.EstimateTokens(
		req.Messages[0].Content + "\n" + req.Messages[1].Content + "\n\ncalculator" + `{"expression":"12*7"}` + "\n84\n"), OutputTokens: 1}); res.Usage != want {
		t.Errorf("usage = %+v, want estimate %+v", res.Usage, want)
	}
	calls := f.calls()
	if len(calls) != 1 {
		t.Fatalf("%d requests, want 1", len(calls))
	}
	got := calls[0]
	want := recorded{
		Method: http.MethodPost, Path: "/v1/chat/completions", Auth: "Bearer sk-test",
		Body: map[string]any{
			"model":          "gpt-test",
			"stream":         true,
			"stream_options": map[string]any{"include_usage": true},
			"max_tokens":     256.0,
			"messages": []any{
				map[string]any{"role": "system", "content": "You are helpful.\n\nKnowledge:\n- Refunds take 14 days."},
				map[string]any{"role": "user", "content": "what is 12*7?"},
				map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{
					"id": "call_1", "type": "function", "function": map[string]any{"name": "calculator", "arguments": `{"expression":"12*7"}`}}}},
				map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "84"},
			},
			"tools": []any{
				map[string]any{"type": "function", "function": map[string]any{"name": "calculator", "description": "Evaluates arithmetic.", "parameters": map[string]any{
					"type": "object", "properties": map[string]any{"expression": map[string]any{"type": "string"}}, "required": []any{"expression"}}}},
				map[string]any{"type": "function", "function": map[string]any{"name": "current_datetime", "description": "The current date and time.",
					"parameters": map[string]any{"type": "object", "properties": map[string]any{}}}},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	t.Run("NoKeyNoAuthorization", func(t *testing.T) {
		f := newFake(t, sse(content("ok"), finish("stop")))
		if _, _, err := complete(context.Background(), f.client(Config{}), ask("hi")); err != nil {
			t.Fatal(err)
		}
		if got := f.calls()[0]; got.Auth != "" || got.Body["max_tokens"] != nil || got.Body["tools"] != nil {
			t.Errorf("request = %+v, want no Authorization, max_tokens or tools", got)
		}
	})
	t.Run("NoModel", func(t *testing.T) {
		_, _, err := complete(context.Background(), f.client(Config{}), provider.Request{Messages: ask("hi").Messages})
		if pe := providerError(t, err); !strings.Contains(pe.Message, "no model") {
			t.Errorf("message = %q, want it to say no model", pe.Message)
		}
	})
}

func TestCompleteToolCalls(t *testing.T) {
	f := newFake(t, sse(
		toolDelta(0, "call_a", "calculator", ""),
		toolDelta(0, "", "", `{"expr`),
		toolDelta(0, "", "", `ession": "12*7"}`),
		toolDelta(1, "call_b", "current_datetime", ""),
		toolDelta(1, "", "", `{}`),
		finish("tool_calls"),
		usage,
	))
	res, tokens, err := complete(context.Background(), f.client(Config{}), ask("what is 12*7 and what time is it"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 0 {
		t.Errorf("tokens = %q, want none", tokens)
	}
	want := &provider.Response{
		ToolCalls: []provider.ToolCall{
			{ID: "call_a", Name: "calculator", Arguments: `{"expression": "12*7"}`},
			{ID: "call_b", Name: "current_datetime", Arguments: `{}`},
		},
		Usage: provider.Usage{InputTokens: 12, OutputTokens: 3}, FinishReason: provider.FinishToolCalls, Model: "gpt-test",
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestCompleteRetries(t *testing.T) {
	t.Run("RateLimitThenSuccess", func(t *testing.T) {
		f := newFake(t,
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "0.02")
				jsonError(http.StatusTooManyRequests, "Rate limit reached")(w, r)
			},
			sse(content("ok"), finish("stop")))
		c := f.client(Config{})
		var waits []time.Duration
		c.sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return sleepCtx(ctx, d)
		}
		res, _, err := complete(context.Background(), c, ask("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != "ok" {
			t.Errorf("Text = %q, want ok", res.Text)
		}
		if n := len(f.calls()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		if diff := cmp.Diff([]time.Duration{20 * time.Millisecond}, waits); diff != "" {
			t.Errorf("waits (-want +got), Retry-After not honoured:\n%s", diff)
		}
	})
	t.Run("ServerErrorEveryTime", func(t *testing.T) {
		f := newFake(t, jsonError(http.StatusInternalServerError, "upstream overloaded"))
		c := f.client(Config{})
		var waits []time.Duration
		c.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		_, _, err := complete(context.Background(), c, ask("hi"))
		pe := providerError(t, err)
		if !pe.Retryable || pe.Status != 500 {
			t.Errorf("error = %+v, want retryable with status 500", pe)
		}
		for _, s := range []string{"500", "upstream overloaded"} {
			if !strings.Contains(pe.Message, s) {
				t.Errorf("message %q does not contain %q", pe.Message, s)
			}
		}
		if n := len(f.calls()); n != 3 {
			t.Errorf("%d requests, want 3 (1 + MaxRetries 2)", n)
		}
		// exponential backoff with jitter: the n-th wait is in [d/2, d], d = 1ms << n
		for i, w := range waits {
			if d := time.Millisecond << i; w < d/2 || w > d {
				t.Errorf("wait %d = %s, want within [%s, %s]", i, w, d/2, d)
			}
		}
	})
	t.Run("NoRetriesWhenNegative", func(t *testing.T) {
		f := newFake(t, jsonError(http.StatusServiceUnavailable, "down"))
		_, _, err := complete(context.Background(), f.client(Config{MaxRetries: -1}), ask("hi"))
		providerError(t, err)
		if n := len(f.calls()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("UnauthorizedNotRetried", func(t *testing.T) {
		const key = "sk-secret-123"
		f := newFake(t, jsonError(http.StatusUnauthorized, "Incorrect API key provided: "+key+"."))
		_, _, err := complete(context.Background(), f.client(Config{APIKey: key}), ask("hi"))
		pe := providerError(t, err)
		if pe.Retryable || pe.Status != 401 {
			t.Errorf("error = %+v, want not retryable, status 401", pe)
		}
		for _, s := range []string{"401", "Incorrect API key provided", "check the API key"} {
			if !strings.Contains(pe.Message, s) {
				t.Errorf("message %q does not contain %q", pe.Message, s)
			}
		}
		if strings.Contains(pe.Message, key) || strings.Contains(err.Error(), key) {
			t.Errorf("message %q shows the API key", pe.Message)
		}
		if n := len(f.calls()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		f := newFake(t, sse())
		c := f.client(Config{})
		f.Close()
		var waits int
		c.sleep = func(context.Context, time.Duration) error { waits++; return nil }
		_, _, err := complete(context.Background(), c, ask("hi"))
		pe := providerError(t, err)
		if !pe.Retryable || !strings.Contains(pe.Message, "cannot reach "+f.URL) {
			t.Errorf("error = %+v, want retryable, saying it cannot reach %s", pe, f.URL)
		}
		if waits != 2 {
			t.Errorf("%d waits, want 2 retries", waits)
		}
	})
	t.Run("NotAfterTokens", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", content("Hel"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		})
		_, tokens, err := complete(context.Background(), f.client(Config{}), ask("hi"))
		pe := providerError(t, err)
		if !strings.Contains(pe.Message, "broke off") {
			t.Errorf("message = %q, want it to say the stream broke off", pe.Message)
		}
		if n := len(f.calls()); n != 1 || len(tokens) != 1 {
			t.Errorf("%d requests and tokens %q, want 1 request (no retry after a token) and 1 token", n, tokens)
		}
	})
}

func TestCompleteTimeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	t.Run("BeforeHeaders", func(t *testing.T) {
		f := newFake(t, slow)
		_, _, err := complete(context.Background(), f.client(Config{Timeout: 50 * time.Millisecond}), ask("hi"))
		pe := providerError(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(pe.Message, "did not answer within 50ms") {
			t.Errorf("error = %+v, want a timeout saying so", pe)
		}
		if n := len(f.calls()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("MidStream", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", content("Hel"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
		_, tokens, err := complete(context.Background(), f.client(Config{Timeout: 50 * time.Millisecond}), ask("hi"))
		providerError(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || len(tokens) != 1 {
			t.Errorf("err = %v, tokens %q; want a timeout after one token", err, tokens)
		}
	})
}

func TestCompleteMalformed(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Welcome to nginx</body></html>")
		}, "not an event stream"},
		{"BadJSONEvent", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "data: {\"choices\": [oops\n\n")
		}, "malformed event"},
		{"BadJSONBody", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"choices": [`)
		}, "not valid JSON"},
		{"ErrorEvent", sse(`{"error":{"message":"model overloaded"}}`), "model overloaded"},
		{"EndsEarly", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "data: %s\n\n", toolDelta(0, "call_1", "calculator", `{"exp`))
		}, "ended before the answer was complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.handler)
			_, _, err := complete(context.Background(), f.client(Config{}), ask("hi"))
			if pe := providerError(t, err); !strings.Contains(pe.Message, tt.want) {
				t.Errorf("message = %q, want it to contain %q", pe.Message, tt.want)
			}
		})
	}
}

func TestCompleteNotStreamed(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"llama3","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}`)
	})
	res, tokens, err := complete(context.Background(), f.client(Config{}), ask("hi"))
	if err != nil {
		t.Fatal(err)
	}
	want := &provider.Response{Text: "Hi!", Usage: provider.Usage{InputTokens: 5, OutputTokens: 2}, FinishReason: provider.FinishStop, Model: "llama3"}
	if diff := cmp.Diff(want, res); diff != "" || len(tokens) != 1 {
		t.Errorf("response (-want +got):\n%s\ntokens %q", diff, tokens)
	}
}

func TestCompleteCancelMidStream(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\n\n", content("Hel"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tokens []string
	_, err := f.client(Config{}).Complete(ctx, ask("hi"), func(s string) {
		tokens = append(tokens, s)
		cancel()
	})
	pe := providerError(t, err)
	if !errors.Is(err, context.Canceled) || !strings.Contains(pe.Message, "cancelled") {
		t.Errorf("error = %+v, want cancelled", pe)
	}
	if n := len(f.calls()); n != 1 || len(tokens) != 1 {
		t.Errorf("%d requests, tokens %q; want 1 request, 1 token", n, tokens)
	}
}

func TestModels(t *testing.T) {
	f := newFake(t, sse())
	got, err := f.client(Config{APIKey: "sk-test"}).Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gpt-a", "gpt-b"}, got); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}

	t.Run("WrongKey", func(t *testing.T) {
		_, err := f.client(Config{APIKey: "sk-wrong"}).Models(context.Background())
		pe := providerError(t, err)
		if pe.Status != 401 || !strings.Contains(pe.Message, "Incorrect API key provided") || strings.Contains(pe.Message, "sk-wrong") {
			t.Errorf("error = %+v, want 401 with the server's message and no key", pe)
		}
	})
	t.Run("NotAnAPI", func(t *testing.T) {
		c := New(Config{BaseURL: f.URL + "/elsewhere"})
		_, err := c.Models(context.Background())
		if pe := providerError(t, err); pe.Status != 404 || !strings.Contains(pe.Message, "check the base URL") {
			t.Errorf("error = %+v, want 404 with a hint", pe)
		}
	})
}

func TestName(t *testing.T) {
	if got := New(Config{}).Name(); got != "openai" {
		t.Errorf("default Name() = %q, want openai", got)
	}
	if got := New(Config{Name: "ollama"}).Name(); got != "ollama" {
		t.Errorf("Name() = %q, want ollama", got)
	}
}

// TestProviderInterface keeps Client a provider.Provider.
func TestProviderInterface(t *testing.T) {
	var _ provider.Provider = New(Config{})
}
