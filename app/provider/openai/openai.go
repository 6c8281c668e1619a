// Package openai talks to any OpenAI-compatible chat-completions endpoint
// (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter…): it
// streams the answer over server-sent events, turns abilities into tools,
// reads tool calls and usage, retries rate limits and server errors before
// anything was streamed, and maps failures to messages fit for the user.
//
// Retrieved documents (Request.Documents) are not sent separately: the
// engine renders them into the system prompt, which is the only place a
// chat-completions model reads them.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"parley/app/provider"
)

// Defaults and limits.
const (
	DefaultName       = "openai"
	DefaultTimeout    = 120 * time.Second
	DefaultMaxRetries = 2
	DefaultRetryDelay = 500 * time.Millisecond

	maxBackoff    = 8 * time.Second  // longest wait between two tries
	maxRetryAfter = 30 * time.Second // longest Retry-After honoured
	maxErrorBody  = 64 << 10         // bytes of an error response read
	maxLine       = 4 << 20          // longest stream line or JSON body
	maxDetail     = 300              // characters of a server's message shown
)

// Config says where an OpenAI-compatible endpoint is and how to call it.
type Config struct {
	// Name is the provider's name as bots reference it (default "openai").
	Name string
	// BaseURL is the API root, e.g. "https://api.openai.com/v1" or
	// "http://localhost:11434/v1"; "/chat/completions", "/models" and
	// "/moderations" are appended.
	BaseURL string
	// APIKey is sent as a Bearer token when set; it never appears in errors.
	APIKey string
	// HTTPClient makes the calls (default: a client without its own
	// timeout; Timeout bounds each call through its context).
	HTTPClient *http.Client
	// Timeout bounds one Complete or Models call, retries and streaming
	// included (default 120s).
	Timeout time.Duration
	// MaxRetries is how many times a 429, 5xx or connection failure is
	// tried again before any token was streamed (default 2; negative: never).
	MaxRetries int
	// RetryDelay is the first backoff, doubled at each retry, with jitter
	// (default 500ms); a Retry-After header overrides it.
	RetryDelay time.Duration
}

// Client is a provider.Provider for an OpenAI-compatible endpoint.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	// sleep waits between tries; tests replace it to observe the waits.
	sleep func(ctx context.Context, d time.Duration) error
	// noModeration remembers an endpoint without POST /moderations.
	noModeration atomic.Bool
}

// New makes a Client, filling in Config's defaults.
func New(cfg Config) *Client {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, base: strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/"), http: hc, sleep: sleepCtx}
}

// Name implements provider.Provider.
func (c *Client) Name() string { return c.cfg.Name }

// Complete implements provider.Provider: one streamed chat completion,
// tried again on 429, 5xx and connection failures while nothing has been
// streamed yet.
func (c *Client) Complete(ctx context.Context, req provider.Request, onToken func(string)) (*provider.Response, error) {
	if strings.TrimSpace(req.Model) == "" {
		return nil, &provider.Error{Message: c.cfg.Name + ": no model given (a bot's model names the provider and the model, e.g. \"" + c.cfg.Name + "/gpt-4o-mini\")"}
	}
	body, err := json.Marshal(chatRequestOf(req))
	if err != nil {
		return nil, &provider.Error{Message: c.cfg.Name + ": cannot encode the request", Err: err}
	}
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	s := &stream{onToken: onToken, model: req.Model}
	for attempt := 0; ; attempt++ {
		res, wait, err := c.try(tctx, body, req, s)
		if err == nil {
			return res, nil
		}
		if tctx.Err() != nil {
			return nil, c.contextError(ctx, err)
		}
		var pe *provider.Error
		if !errors.As(err, &pe) || !pe.Retryable || s.emitted || attempt >= c.cfg.MaxRetries {
			return nil, err
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if dl, ok := tctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, err // waiting would outlast the timeout: say why we stopped
		}
		if err := c.sleep(tctx, wait); err != nil {
			return nil, c.contextError(ctx, err)
		}
		s.reset()
	}
}

// try makes one request; wait is how long the server asked us to wait
// before the next try (0: not said).
func (c *Client) try(ctx context.Context, body []byte, req provider.Request, s *stream) (*provider.Response, time.Duration, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, 0, c.urlError(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	c.authorize(hreq)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, 0, c.connError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, retryAfter(resp.Header), c.statusError(resp)
	}
	res, err := c.read(ctx, resp.Body, req, s)
	return res, 0, err
}

// Models lists the model IDs the endpoint serves (GET /models), sorted; the
// admin page uses it to test a connection.
func (c *Client) Models(ctx context.Context) ([]string, error) {
	pctx := ctx
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/models", nil)
	if err != nil {
		return nil, c.urlError(err)
	}
	hreq.Header.Set("Accept", "application/json")
	c.authorize(hreq)
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.contextError(pctx, err)
		}
		return nil, c.connError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, c.statusError(resp)
	}
	var list struct {
		Data *[]struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxLine)).Decode(&list); err != nil || list.Data == nil {
		if ctx.Err() != nil {
			return nil, c.contextError(pctx, ctx.Err())
		}
		return nil, &provider.Error{Message: c.cfg.Name + ": the models list is not the JSON an OpenAI-compatible API returns (check the base URL)", Status: resp.StatusCode, Err: err}
	}
	ids := make([]string, 0, len(*list.Data))
	for _, m := range *list.Data {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids, nil
}

func (c *Client) authorize(r *http.Request) {
	r.Header.Set("User-Agent", "parley")
	if c.cfg.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
}

// backoff is the wait before retry number attempt+1: RetryDelay doubled per
// attempt, capped, with "equal jitter" (half fixed, half random) so that
// many clients do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryDelay << attempt
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfter reads how long the server asked us to wait: retry-after-ms
// (OpenAI), or Retry-After in seconds (fractions accepted) or as an HTTP
// date; capped.
func retryAfter(h http.Header) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			d = time.Duration(ms * float64(time.Millisecond))
		}
	} else if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d = time.Duration(s * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	}
	if d > maxRetryAfter {
		d = maxRetryAfter
	}
	if d < 0 {
		d = 0
	}
	return d
}

// contextError explains a call stopped by its context: cancelled by the
// caller, or out of time.
func (c *Client) contextError(parent context.Context, err error) error {
	perr := parent.Err()
	if errors.Is(perr, context.Canceled) {
		return &provider.Error{Message: c.cfg.Name + ": the request was cancelled", Err: perr}
	}
	msg := fmt.Sprintf("%s: the model did not answer within %s", c.cfg.Name, c.cfg.Timeout)
	if perr != nil { // the caller's deadline came first
		msg = c.cfg.Name + ": the model did not answer in time"
	}
	return &provider.Error{Message: msg, Retryable: true, Err: errors.Join(context.DeadlineExceeded, err)}
}

func (c *Client) urlError(err error) error {
	return &provider.Error{Message: c.cfg.Name + ": the base URL " + strconv.Quote(c.scrub(c.cfg.BaseURL)) + " is not valid (it must look like https://api.openai.com/v1)", Err: err}
}

// connError explains a request that got no response.
func (c *Client) connError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	host := c.base
	if u, perr := url.Parse(c.base); perr == nil {
		if u.Scheme == "" || u.Host == "" {
			return c.urlError(err)
		}
		host = u.Scheme + "://" + u.Host
	}
	return &provider.Error{
		Message:   fmt.Sprintf("%s: cannot reach %s: %s", c.cfg.Name, host, c.scrub(cause.Error())),
		Retryable: true,
		Err:       err,
	}
}

// statusError explains a non-2xx answer with the server's own message when
// it sent one, and a hint for the usual causes.
func (c *Client) statusError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := fmt.Sprintf("%s: the server answered %d %s", c.cfg.Name, resp.StatusCode, http.StatusText(resp.StatusCode))
	detail := errorDetail(raw)
	if detail == "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		detail = strings.TrimSpace(string(raw))
	}
	if detail != "" {
		msg += ": " + clipText(c.scrub(detail), maxDetail)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		msg += " (check the API key)"
	case resp.StatusCode == http.StatusNotFound:
		msg += " (check the base URL and the model name)"
	case resp.StatusCode == http.StatusTooManyRequests:
		msg += " (rate limited: try again later)"
	}
	return &provider.Error{
		Message:   msg,
		Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		Status:    resp.StatusCode,
	}
}

// errorDetail finds the message in an error body: {"error":{"message"}}
// (OpenAI), {"error":"…"} (Ollama), {"message"} or {"detail"}.
func errorDetail(raw []byte) string {
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return ""
	}
	if m := apiErrorMessage(body.Error); m != "" {
		return m
	}
	if body.Message != "" {
		return body.Message
	}
	if s, ok := body.Detail.(string); ok {
		return s
	}
	return ""
}

// apiErrorMessage reads an "error" field that is an object with a message
// or a plain string.
func apiErrorMessage(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var obj struct {
		Message string `json:"message"`
		Code    any    `json:"code"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Message != "" {
			return obj.Message
		}
		if obj.Code != nil {
			return fmt.Sprint(obj.Code)
		}
	}
	return "unknown error"
}

// scrub removes the API key from text shown to users.
func (c *Client) scrub(s string) string {
	if c.cfg.APIKey != "" {
		s = strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		s = u.Redacted()
	}
	return s
}

func clipText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
