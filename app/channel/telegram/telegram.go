package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of the client.
const (
	// DefaultBaseURL is the Bot API's root; tests point New at a fake.
	DefaultBaseURL = "https://api.telegram.org"
	// DefaultTimeout bounds one call (request and response body).
	DefaultTimeout = 10 * time.Second

	maxBody     = 4 << 20 // bytes of a response read
	maxDetail   = 300     // characters of Telegram's description kept
	redactedTok = "[redacted]"
)

// MaxMessageLength is the longest text Telegram accepts in one message, in
// UTF-16 code units (as Telegram counts), after entities are parsed.
const MaxMessageLength = 4096

// ParseModeHTML is the parse mode of the text FormatHTML produces.
const ParseModeHTML = "HTML"

// ActionTyping is the chat action that shows "typing…" while an answer is
// being written.
const ActionTyping = "typing"

// Client calls the Bot API for one bot. It is safe for concurrent use.
type Client struct {
	// Timeout bounds each call (default DefaultTimeout); set it before the
	// first call.
	Timeout time.Duration

	base  string
	token string
	http  *http.Client
}

// New makes a Client for the bot whose token is given. baseURL is the API's
// root (empty: DefaultBaseURL); httpClient makes the calls (nil: a client
// without its own timeout, Timeout bounding each call). The token goes into
// each call's path, /bot<token>/<method>, and never into an error.
func New(baseURL, token string, httpClient *http.Client) *Client {
	base := strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{Timeout: DefaultTimeout, base: base, token: token, http: httpClient}
}

// APIError is how every method of Client fails: Telegram's refusal
// (ok:false), an HTTP status without the Bot API's JSON, or no answer at
// all. Its Error never contains the bot's token.
type APIError struct {
	// Method is the Bot API method called, e.g. "sendMessage".
	Method string
	// StatusCode is the HTTP status (0: no response).
	StatusCode int
	// ErrorCode is Telegram's error_code (usually equal to StatusCode; 0:
	// no Bot API answer).
	ErrorCode int
	// Description is Telegram's description ("Forbidden: bot was blocked
	// by the user"), or what went wrong when Telegram did not say.
	Description string
	// RetryAfter is how long Telegram asked to wait (parameters.retry_after
	// on 429 Too Many Requests).
	RetryAfter time.Duration
	// MigrateToChatID is the supergroup a group became
	// (parameters.migrate_to_chat_id): send there instead.
	MigrateToChatID int64
	// Retryable says the same call may succeed later: 429, 5xx, a network
	// failure or a timeout. The caller's queue decides when.
	Retryable bool
	// Err is the underlying error of a call that got no answer (its URL
	// redacted), for errors.Is (context.DeadlineExceeded…).
	Err error
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("telegram: " + e.Method + ": ")
	switch {
	case e.ErrorCode != 0 && e.Description != "":
		b.WriteString(strconv.Itoa(e.ErrorCode) + " " + e.Description)
	case e.ErrorCode != 0:
		b.WriteString(strconv.Itoa(e.ErrorCode) + " " + http.StatusText(e.ErrorCode))
	case e.StatusCode != 0 && e.Description == "":
		b.WriteString(strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode))
	case e.StatusCode != 0:
		b.WriteString(e.Description + " (HTTP " + strconv.Itoa(e.StatusCode) + ")")
	default:
		b.WriteString(e.Description)
	}
	code := e.ErrorCode
	if code == 0 {
		code = e.StatusCode
	}
	if code == http.StatusUnauthorized || code == http.StatusNotFound {
		b.WriteString(" (check the bot token)")
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after " + e.RetryAfter.String() + ")")
	}
	if e.MigrateToChatID != 0 {
		b.WriteString(" (the group is now the supergroup " + strconv.FormatInt(e.MigrateToChatID, 10) + ")")
	}
	return b.String()
}

// Unwrap returns the underlying error of a call that got no answer.
func (e *APIError) Unwrap() error { return e.Err }

// response is the envelope of every Bot API answer.
type response struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call POSTs params as JSON to method and decodes the result into out (nil:
// ignored).
func (c *Client) call(ctx context.Context, method string, params any, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return &APIError{Method: method, Description: "cannot encode the request: " + err.Error()}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(tctx, http.MethodPost, c.base+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return &APIError{Method: method, Description: "the base URL " + strconv.Quote(c.scrub(c.base)) + " is not valid (it must look like " + DefaultBaseURL + ")"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "parley")
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, tctx, method, timeout, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return c.transportError(ctx, tctx, method, timeout, err)
	}
	return c.decode(method, resp, raw, out)
}

// decode reads a Bot API answer: the result on ok:true, an *APIError
// otherwise.
func (c *Client) decode(method string, resp *http.Response, raw []byte, out any) error {
	var env response
	jsonErr := json.Unmarshal(raw, &env)
	if jsonErr == nil && env.OK && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(env.Result, out); err != nil {
			return &APIError{Method: method, StatusCode: resp.StatusCode, Description: "the result is not what the Bot API returns: " + c.scrub(err.Error())}
		}
		return nil
	}
	e := &APIError{Method: method, StatusCode: resp.StatusCode}
	if jsonErr == nil && (env.ErrorCode != 0 || env.Description != "") {
		e.ErrorCode = env.ErrorCode
		e.Description = clip(c.scrub(env.Description))
		if p := env.Parameters; p != nil {
			e.RetryAfter = time.Duration(p.RetryAfter) * time.Second
			e.MigrateToChatID = p.MigrateToChatID
		}
	} else if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		e.Description = "the answer is not the Bot API's JSON (check the base URL)"
	}
	if e.RetryAfter == 0 && (resp.StatusCode == http.StatusTooManyRequests || e.ErrorCode == http.StatusTooManyRequests) {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
	}
	e.Retryable = retryableStatus(resp.StatusCode) || retryableStatus(e.ErrorCode)
	return e
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// transportError explains a call that got no (complete) answer: the
// caller's context ended, the call timed out, or the network failed. All are
// retryable; errors.Is still tells context.Canceled apart.
func (c *Client) transportError(parent, ctx context.Context, method string, timeout time.Duration, err error) error {
	err = c.redactURL(err)
	e := &APIError{Method: method, Retryable: true, Err: err}
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		e.Description = "the call was cancelled"
		e.Err = errors.Join(context.Canceled, err)
	case parent.Err() != nil:
		e.Description = "no answer in time"
		e.Err = errors.Join(context.DeadlineExceeded, err)
	case ctx.Err() != nil:
		e.Description = "no answer within " + timeout.String()
		e.Err = errors.Join(context.DeadlineExceeded, err)
	default:
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err
		}
		e.Description = "cannot reach " + c.host() + ": " + c.scrub(cause.Error())
	}
	return e
}

// redactURL replaces the URL of a *url.Error (it holds the token) by one
// without the token, so that even the wrapped error is safe to log.
func (c *Client) redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: c.scrub(ue.URL), Err: ue.Err}
	}
	return err
}

// host is the scheme and host of the base URL, for messages.
func (c *Client) host() string {
	if u, err := url.Parse(c.base); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return c.scrub(c.base)
}

// scrub removes the token (and URL credentials) from text.
func (c *Client) scrub(s string) string {
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, redactedTok)
		if esc := url.PathEscape(c.token); esc != c.token {
			s = strings.ReplaceAll(s, esc, redactedTok)
		}
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		s = u.Redacted()
	}
	return s
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxDetail {
		return string(r[:maxDetail]) + "…"
	}
	return s
}

// invalid is the error of a call refused before it is made.
func invalid(method, format string, args ...any) error {
	return &APIError{Method: method, Description: fmt.Sprintf(format, args...)}
}
