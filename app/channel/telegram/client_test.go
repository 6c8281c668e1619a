package telegram_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
)

const token = "123456789:AAE_test-TOKEN_never_shown_0123456"

func newClient(t *testing.T) (*telegram.Client, *telegramtest.Server) {
	t.Helper()
	srv := telegramtest.NewServer(t)
	srv.SetToken(token)
	return telegram.New(srv.URL(), token, nil), srv
}

func apiError(t *testing.T, err error) *telegram.APIError {
	t.Helper()
	var e *telegram.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *telegram.APIError", err, err)
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "AAE_test") {
		t.Errorf("the error shows the token: %s", err)
	}
	if e.Err != nil && strings.Contains(e.Err.Error(), "AAE_test") {
		t.Errorf("the wrapped error shows the token: %s", e.Err)
	}
	return e
}

// ignoreParams leaves the raw request out of call comparisons.
var ignoreParams = cmpopts.IgnoreFields(telegramtest.Call{}, "Params")

func TestGetMe(t *testing.T) {
	c, srv := newClient(t)
	me, err := c.GetMe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &telegram.User{ID: 7000001, IsBot: true, FirstName: "Parley Test", Username: "ParleyTestBot", CanJoinGroups: true}
	if diff := cmp.Diff(want, me); diff != "" {
		t.Errorf("GetMe (-want +got):\n%s", diff)
	}
	calls := srv.Calls("getMe")
	if len(calls) != 1 || calls[0].Token != token || calls[0].Status != http.StatusOK {
		t.Errorf("calls = %+v", calls)
	}
}

func TestWebhook(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	secret := telegram.NewSecretToken()
	if err := c.SetWebhook(ctx, "https://parley.example/telegram/hook/1", secret, []string{"message", "my_chat_member"}, true); err != nil {
		t.Fatal(err)
	}
	got := srv.Calls("setWebhook")
	want := []telegramtest.Call{{
		Method: "setWebhook", Token: token, URL: "https://parley.example/telegram/hook/1", SecretToken: secret,
		AllowedUpdates: []string{"message", "my_chat_member"}, DropPending: true, Status: 200,
	}}
	if diff := cmp.Diff(want, got, ignoreParams); diff != "" {
		t.Errorf("setWebhook calls (-want +got):\n%s", diff)
	}

	info, err := c.GetWebhookInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.URL != "https://parley.example/telegram/hook/1" || info.MaxConnections != 40 || !cmp.Equal(info.AllowedUpdates, []string{"message", "my_chat_member"}) {
		t.Errorf("GetWebhookInfo = %+v", info)
	}

	srv.SetWebhookInfo(telegram.WebhookInfo{URL: info.URL, PendingUpdateCount: 3, LastErrorDate: 1735689600, LastErrorMessage: "Wrong response from the webhook: 502 Bad Gateway", MaxConnections: 40})
	info, err = c.GetWebhookInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingUpdateCount != 3 || info.LastErrorMessage != "Wrong response from the webhook: 502 Bad Gateway" || info.LastError().Unix() != 1735689600 {
		t.Errorf("GetWebhookInfo = %+v", info)
	}

	if err := c.DeleteWebhook(ctx, false); err != nil {
		t.Fatal(err)
	}
	if info := srv.WebhookInfo(); info.URL != "" || info.PendingUpdateCount != 3 {
		t.Errorf("after deleteWebhook: %+v", info)
	}
	if !(telegram.WebhookInfo{}).LastError().IsZero() {
		t.Error("LastError of no error is not zero")
	}
}

func TestSetWebhookParams(t *testing.T) {
	tests := []struct {
		name        string
		allowed     []string
		wantAllowed bool // allowed_updates is sent
		secret      string
		wantSecret  bool
	}{
		{"KeepAllowed", nil, false, "", false},
		{"DefaultAllowed", []string{}, true, "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t)
			if err := c.SetWebhook(context.Background(), "https://parley.example/hook", tt.secret, tt.allowed, false); err != nil {
				t.Fatal(err)
			}
			p := srv.Calls("setWebhook")[0].Params
			if _, has := p["allowed_updates"]; has != tt.wantAllowed {
				t.Errorf("allowed_updates sent = %v, want %v (%v)", has, tt.wantAllowed, p)
			}
			if _, has := p["secret_token"]; has != tt.wantSecret {
				t.Errorf("secret_token sent = %v, want %v", has, tt.wantSecret)
			}
			if _, has := p["drop_pending_updates"]; has {
				t.Errorf("drop_pending_updates sent: %v", p)
			}
		})
	}
}

func TestSetWebhookRefused(t *testing.T) {
	tests := []struct {
		name, url, secret, want string
	}{
		{"RelativeURL", "/hook", "", "absolute https URL"},
		{"FTP", "ftp://parley.example/hook", "", "absolute https URL"},
		{"SecretWithSpace", "https://parley.example/hook", "not valid", "secret token"},
		{"SecretTooLong", "https://parley.example/hook", strings.Repeat("a", 257), "secret token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t)
			err := c.SetWebhook(context.Background(), tt.url, tt.secret, nil, false)
			e := apiError(t, err)
			if !strings.Contains(e.Error(), tt.want) || e.Retryable || e.Method != "setWebhook" {
				t.Errorf("err = %v (%+v), want one about the %s", err, e, tt.want)
			}
			if n := len(srv.Calls("")); n != 0 {
				t.Errorf("%d calls made, want none", n)
			}
		})
	}
}

func TestSendMessage(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	id1, err := c.SendMessage(ctx, 5000001, 0, "<b>Hello</b> &amp; welcome", telegram.ParseModeHTML, 77)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.SendMessage(ctx, -1001234567890, 45, "plain <text>", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= id1 {
		t.Errorf("message ids %d then %d: not increasing", id1, id2)
	}
	want := []telegramtest.Call{
		{Method: "sendMessage", Token: token, ChatID: 5000001, Text: "<b>Hello</b> &amp; welcome", ParseMode: "HTML", ReplyTo: 77, Status: 200, MessageID: id1},
		{Method: "sendMessage", Token: token, ChatID: -1001234567890, ThreadID: 45, Text: "plain <text>", Status: 200, MessageID: id2},
	}
	calls := srv.Calls("sendMessage")
	if diff := cmp.Diff(want, calls, ignoreParams); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	rp, _ := calls[0].Params["reply_parameters"].(map[string]any)
	if rp["allow_sending_without_reply"] != true {
		t.Errorf("reply_parameters = %v, want allow_sending_without_reply", calls[0].Params["reply_parameters"])
	}
	if _, has := calls[1].Params["parse_mode"]; has {
		t.Errorf("parse_mode sent for plain text: %v", calls[1].Params)
	}
	if _, has := calls[0].Params["message_thread_id"]; has {
		t.Errorf("message_thread_id sent without a thread: %v", calls[0].Params)
	}
	if _, has := calls[1].Params["reply_parameters"]; has {
		t.Errorf("reply_parameters sent without a reply: %v", calls[1].Params)
	}
}

func TestSendMessageRefusals(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()

	_, err := c.SendMessage(ctx, 5000001, 0, "  ", "", 0)
	if e := apiError(t, err); e.Retryable || !strings.Contains(e.Error(), "empty") {
		t.Errorf("empty text: %v", err)
	}
	if n := len(srv.Calls("")); n != 0 {
		t.Errorf("empty text made %d calls", n)
	}

	// Telegram's own refusals come back with their description.
	_, err = c.SendMessage(ctx, 5000001, 0, "<b>unclosed", telegram.ParseModeHTML, 0)
	e := apiError(t, err)
	if e.StatusCode != 400 || e.ErrorCode != 400 || e.Retryable || !strings.HasPrefix(e.Description, "Bad Request: can't parse entities") {
		t.Errorf("bad HTML: %+v", e)
	}
	_, err = c.SendMessage(ctx, 5000001, 0, strings.Repeat("a", telegram.MaxMessageLength+1), "", 0)
	if e := apiError(t, err); e.Description != "Bad Request: message is too long" {
		t.Errorf("too long: %+v", e)
	}
}

func TestSendChatAction(t *testing.T) {
	c, srv := newClient(t)
	if err := c.SendChatAction(context.Background(), -1001234567890, 45, telegram.ActionTyping); err != nil {
		t.Fatal(err)
	}
	want := []telegramtest.Call{{Method: "sendChatAction", Token: token, ChatID: -1001234567890, ThreadID: 45, Action: "typing", Status: 200}}
	if diff := cmp.Diff(want, srv.Calls("sendChatAction"), ignoreParams); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	err := c.SendChatAction(context.Background(), 5000001, 0, "dancing")
	if e := apiError(t, err); e.ErrorCode != 400 {
		t.Errorf("unknown action: %+v", e)
	}
}

func TestSendMessageDraft(t *testing.T) {
	c, srv := newClient(t)
	ctx := context.Background()
	for _, text := range []string{"Thinking", "Thinking about <b>refunds</b>"} {
		if err := c.SendMessageDraft(ctx, 5000001, 0, 9, text, telegram.ParseModeHTML); err != nil {
			t.Fatal(err)
		}
	}
	want := []telegramtest.Call{
		{Method: "sendMessageDraft", Token: token, ChatID: 5000001, DraftID: 9, Text: "Thinking", ParseMode: "HTML", Status: 200},
		{Method: "sendMessageDraft", Token: token, ChatID: 5000001, DraftID: 9, Text: "Thinking about <b>refunds</b>", ParseMode: "HTML", Status: 200},
	}
	if diff := cmp.Diff(want, srv.Calls("sendMessageDraft"), ignoreParams); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}

	err := c.SendMessageDraft(ctx, 5000001, 0, 0, "x", "")
	if e := apiError(t, err); !strings.Contains(e.Error(), "non-zero") {
		t.Errorf("draft id 0: %v", err)
	}
	err = c.SendMessageDraft(ctx, -1001234567890, 0, 9, "x", "")
	if e := apiError(t, err); e.ErrorCode != 400 || e.Retryable {
		t.Errorf("draft to a group: %+v", e)
	}
}

func TestFailures(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		retryAfter    int
		wantStatus    int
		wantCode      int
		wantRetry     time.Duration
		wantRetryable bool
		wantText      string
	}{
		{"TooManyRequests", 429, 7, 429, 429, 7 * time.Second, true, "telegram: sendMessage: 429 Too Many Requests: retry after 7 (retry after 7s)"},
		{"InternalServerError", 500, 0, 500, 500, 0, true, "telegram: sendMessage: 500 Internal Server Error"},
		{"BadGatewayHTML", 502, 0, 502, 0, 0, true, "telegram: sendMessage: 502 Bad Gateway"},
		{"GatewayTimeoutHTML", 504, 0, 504, 0, 0, true, "telegram: sendMessage: 504 Gateway Timeout"},
		{"Blocked", 403, 0, 403, 403, 0, false, "telegram: sendMessage: 403 Forbidden: bot was blocked by the user"},
		{"ChatNotFound", 400, 0, 400, 400, 0, false, "telegram: sendMessage: 400 Bad Request: chat not found"},
		{"Unauthorized", 401, 0, 401, 401, 0, false, "telegram: sendMessage: 401 Unauthorized (check the bot token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := newClient(t)
			srv.FailNext("sendMessage", tt.status, tt.retryAfter)
			_, err := c.SendMessage(context.Background(), 5000001, 0, "hi", "", 0)
			e := apiError(t, err)
			if e.Method != "sendMessage" || e.StatusCode != tt.wantStatus || e.ErrorCode != tt.wantCode ||
				e.RetryAfter != tt.wantRetry || e.Retryable != tt.wantRetryable {
				t.Errorf("err = %+v", e)
			}
			if e.Error() != tt.wantText {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantText)
			}
			// The failure was for one call only.
			if _, err := c.SendMessage(context.Background(), 5000001, 0, "hi", "", 0); err != nil {
				t.Errorf("the next call: %v", err)
			}
			calls := srv.Calls("sendMessage")
			if len(calls) != 2 || calls[0].Status != tt.status || calls[1].Status != 200 {
				t.Errorf("calls = %+v", calls)
			}
		})
	}
}

func TestFailNextAnyMethodQueues(t *testing.T) {
	c, srv := newClient(t)
	srv.FailNext("", 500, 0)
	srv.FailNext("", 429, 1)
	ctx := context.Background()
	if _, err := c.GetMe(ctx); apiError(t, err).StatusCode != 500 {
		t.Errorf("first: %v", err)
	}
	if err := c.SendChatAction(ctx, 1, 0, "typing"); apiError(t, err).StatusCode != 429 {
		t.Errorf("second: %v", err)
	}
	if _, err := c.GetMe(ctx); err != nil {
		t.Errorf("third: %v", err)
	}
}

func TestWrongToken(t *testing.T) {
	srv := telegramtest.NewServer(t)
	srv.SetToken("42:right")
	c := telegram.New(srv.URL(), token, nil)
	_, err := c.GetMe(context.Background())
	e := apiError(t, err)
	if e.StatusCode != 401 || e.Retryable || !strings.Contains(e.Error(), "check the bot token") {
		t.Errorf("err = %+v", e)
	}
}

func TestNetworkFailures(t *testing.T) {
	t.Run("ConnectionDropped", func(t *testing.T) {
		c, srv := newClient(t)
		srv.FailNext("sendMessage", 0, 0)
		_, err := c.SendMessage(context.Background(), 1, 0, "hi", "", 0)
		e := apiError(t, err)
		if !e.Retryable || e.StatusCode != 0 || !strings.HasPrefix(e.Error(), "telegram: sendMessage: cannot reach http://127.0.0.1:") {
			t.Errorf("err = %v (%+v)", err, e)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c := telegram.New("http://"+addr, token, nil)
		_, err = c.GetMe(context.Background())
		e := apiError(t, err)
		if !e.Retryable || !strings.Contains(e.Error(), "cannot reach http://"+addr) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(release) }) // runs first
		c := telegram.New(slow.URL, token, nil)
		c.Timeout = 50 * time.Millisecond
		_, err := c.GetMe(context.Background())
		e := apiError(t, err)
		if !e.Retryable || !errors.Is(err, context.DeadlineExceeded) || e.Error() != "telegram: getMe: no answer within 50ms" {
			t.Errorf("err = %v (%+v)", err, e)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		c, _ := newClient(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.GetMe(ctx)
		e := apiError(t, err)
		if !errors.Is(err, context.Canceled) || e.Error() != "telegram: getMe: the call was cancelled" {
			t.Errorf("err = %v (%+v)", err, e)
		}
	})
}

func TestNotBotAPI(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantText  string
		retryable bool
		header    string // Retry-After
		wantRetry time.Duration
	}{
		{"HTMLPage", 200, "<html>captive portal</html>", "telegram: getMe: the answer is not the Bot API's JSON (check the base URL) (HTTP 200)", false, "", 0},
		{"WrongResult", 200, `{"ok":true,"result":"me"}`, "telegram: getMe: the result is not what the Bot API returns", false, "", 0},
		{"PlainNotFound", 404, "404 page not found", "telegram: getMe: 404 Not Found (check the bot token)", false, "", 0},
		{"ServiceUnavailable", 503, "", "telegram: getMe: 503 Service Unavailable", true, "", 0},
		{"CodeWithoutDescription", 400, `{"ok":false,"error_code":400}`, "telegram: getMe: 400 Bad Request", false, "", 0},
		{"MigratedGroup", 400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}`, "telegram: getMe: 400 Bad Request: group chat was upgraded to a supergroup chat (the group is now the supergroup -1001234567890)", false, "", 0},
		{"RetryAfterHeader", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests"}`, "telegram: getMe: 429 Too Many Requests (retry after 3s)", true, "3", 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			_, err := telegram.New(srv.URL+"/", token, nil).GetMe(context.Background())
			e := apiError(t, err)
			if !strings.HasPrefix(e.Error(), tt.wantText) || e.Retryable != tt.retryable || e.RetryAfter != tt.wantRetry {
				t.Errorf("err = %q (retryable %v), want %q (retryable %v)", e.Error(), e.Retryable, tt.wantText, tt.retryable)
			}
			if path != "/bot"+token+"/getMe" {
				t.Errorf("path = %q", path)
			}
		})
	}
}

func TestDescriptionEchoingTokenIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: ` + r.URL.Path + `"}`))
	}))
	t.Cleanup(srv.Close)
	_, err := telegram.New(srv.URL, token, nil).GetMe(context.Background())
	if e := apiError(t, err); !strings.Contains(e.Error(), "/bot[redacted]/getMe") {
		t.Errorf("err = %v", err)
	}
}

func TestBadBaseURL(t *testing.T) {
	_, err := telegram.New("http://bad host", token, nil).GetMe(context.Background())
	if e := apiError(t, err); e.Retryable || !strings.Contains(e.Error(), "is not valid") {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	var seen string
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		seen = r.URL.String()
		return nil, errors.New("offline")
	})
	_, err := telegram.New("", token, &http.Client{Transport: rt}).GetMe(context.Background())
	if seen != "https://api.telegram.org/bot"+token+"/getMe" {
		t.Errorf("URL = %q", seen)
	}
	if e := apiError(t, err); !strings.Contains(e.Error(), "cannot reach https://api.telegram.org: offline") {
		t.Errorf("err = %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
