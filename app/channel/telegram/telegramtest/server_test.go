package telegramtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
)

// post calls the fake directly, as a client other than Parley's might.
func post(t *testing.T, srv *telegramtest.Server, method, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(srv.URL()+"/bot1:abc/"+method, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %s: %v", method, raw, err)
	}
	return resp.StatusCode, out
}

func TestServerAnswersLikeTelegram(t *testing.T) {
	srv := telegramtest.NewServer(t)
	status, out := post(t, srv, "sendMessage", "application/json", `{"chat_id":-1001234567890,"message_thread_id":45,"text":"<b>Hi</b> &amp; bye","parse_mode":"HTML"}`)
	if status != 200 || out["ok"] != true {
		t.Fatalf("%d %v", status, out)
	}
	m := out["result"].(map[string]any)
	if m["text"] != "Hi & bye" || m["message_thread_id"] != 45.0 || m["is_topic_message"] != true {
		t.Errorf("result = %v", m)
	}
	chat := m["chat"].(map[string]any)
	if chat["type"] != "supergroup" || chat["id"] != -1001234567890.0 {
		t.Errorf("chat = %v", chat)
	}
	if from := m["from"].(map[string]any); from["username"] != "ParleyTestBot" || from["is_bot"] != true {
		t.Errorf("from = %v", from)
	}

	// A form, as curl would send it.
	status, out = post(t, srv, "sendMessage", "application/x-www-form-urlencoded", url.Values{"chat_id": {"42"}, "text": {"plain"}}.Encode())
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	if m := out["result"].(map[string]any); m["message_id"].(float64) <= 101 || m["chat"].(map[string]any)["type"] != "private" {
		t.Errorf("result = %v", m)
	}
	if calls := srv.Calls("sendMessage"); len(calls) != 2 || calls[1].ChatID != 42 || calls[1].Text != "plain" {
		t.Errorf("calls = %+v", calls)
	}
	if got := srv.Sent(); len(got) != 2 || got[1] != "plain" {
		t.Errorf("Sent() = %q", got)
	}

	status, out = post(t, srv, "getUpdates", "application/json", `{}`)
	if status != 404 || out["ok"] != false || out["description"] != "Not Found" {
		t.Errorf("unknown method: %d %v", status, out)
	}
	status, out = post(t, srv, "sendMessage", "application/json", `{"chat_id":1,"text":"<b>x","parse_mode":"HTML"}`)
	if status != 400 || !strings.HasPrefix(out["description"].(string), "Bad Request: can't parse entities: ") {
		t.Errorf("bad HTML: %d %v", status, out)
	}
	status, out = post(t, srv, "sendMessage", "application/json", `{"chat_id":1,"text":"<b> </b>","parse_mode":"HTML"}`)
	if status != 400 || out["description"] != "Bad Request: message text is empty" {
		t.Errorf("empty: %d %v", status, out)
	}
	// The limit counts the text after parsing, in UTF-16 code units.
	long := strings.Repeat("😀", telegram.MaxMessageLength/2)
	if status, out = post(t, srv, "sendMessage", "application/json", fmt.Sprintf(`{"chat_id":1,"text":"<b>%s</b>","parse_mode":"HTML"}`, long)); status != 200 {
		t.Errorf("4096 units: %d %v", status, out)
	}
	if status, out = post(t, srv, "sendMessage", "application/json", fmt.Sprintf(`{"chat_id":1,"text":"%sx"}`, long)); status != 400 || out["description"] != "Bad Request: message is too long" {
		t.Errorf("4097 units: %d %v", status, out)
	}
}

func TestFailNext429(t *testing.T) {
	srv := telegramtest.NewServer(t)
	srv.FailNext("sendMessage", 429, 12)
	status, out := post(t, srv, "sendMessage", "application/json", `{"chat_id":1,"text":"x"}`)
	want := map[string]any{"ok": false, "error_code": 429.0, "description": "Too Many Requests: retry after 12", "parameters": map[string]any{"retry_after": 12.0}}
	if status != 429 || fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("%d %v, want 429 %v", status, out, want)
	}
	// Other methods are not affected.
	if status, _ := post(t, srv, "getMe", "application/json", `{}`); status != 200 {
		t.Errorf("getMe: %d", status)
	}
}

// recorder is a testing.TB that keeps its errors instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestRequireValidHTML(t *testing.T) {
	rec := &recorder{TB: t}
	srv := telegramtest.NewServer(rec)
	srv.RequireValidHTML()
	c := telegram.New(srv.URL(), "1:abc", nil)
	if _, err := c.SendMessage(t.Context(), 1, 0, "<b>fine</b>", telegram.ParseModeHTML, 0); err != nil {
		t.Fatal(err)
	}
	if len(rec.errors) != 0 {
		t.Fatalf("errors for valid HTML: %q", rec.errors)
	}
	if _, err := c.SendMessage(t.Context(), 1, 0, "<script>x</script>", telegram.ParseModeHTML, 0); err == nil {
		t.Error("invalid HTML accepted")
	}
	if err := c.SendMessageDraft(t.Context(), 1, 0, 3, "a & b", telegram.ParseModeHTML); err == nil {
		t.Error("invalid draft HTML accepted")
	}
	if len(rec.errors) != 2 || !strings.Contains(rec.errors[0], "<script> is not a tag") || !strings.Contains(rec.errors[1], "bare &") {
		t.Errorf("errors = %q", rec.errors)
	}
}

func TestSend(t *testing.T) {
	var got telegram.Update
	var header, contentType string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header = r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		contentType = r.Header.Get("Content-Type")
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("decode: %v", err)
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(hook.Close)

	u := telegramtest.TextUpdate(-1001234567890, 45, "/start@ParleyTestBot hi")
	resp := telegramtest.Send(t, hook.URL, "s3cret", u)
	if resp.StatusCode != 200 || header != "s3cret" || contentType != "application/json" {
		t.Errorf("status %d, secret %q, content type %q", resp.StatusCode, header, contentType)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "ok" {
		t.Errorf("body = %q", body)
	}
	if got.UpdateID != u.UpdateID || got.Message == nil || got.Message.Text != "/start@ParleyTestBot hi" {
		t.Fatalf("got %+v", got)
	}
	if key := telegram.ConversationKey(got.Message); key != "-1001234567890:45" {
		t.Errorf("ConversationKey = %q", key)
	}
	if kind, _ := telegram.ClassifyFor(got, "ParleyTestBot"); kind != telegram.KindCommand {
		t.Errorf("kind = %q", kind)
	}
	if e := got.Message.Entities; len(e) != 1 || e[0].Type != "bot_command" || e[0].Length != len("/start@ParleyTestBot") {
		t.Errorf("entities = %+v", e)
	}

	// Updates are realistic JSON: no null fields.
	raw, _ := json.Marshal(telegramtest.TextUpdate(5000001, 0, "hello"))
	if strings.Contains(string(raw), "null") || strings.Contains(string(raw), "edited_message") {
		t.Errorf("update JSON = %s", raw)
	}
	next := telegramtest.TextUpdate(5000001, 0, "again")
	if next.UpdateID <= u.UpdateID || next.Message.MessageID <= u.Message.MessageID {
		t.Errorf("ids do not increase: %d %d", next.UpdateID, next.Message.MessageID)
	}
	if next.Message.Chat.Type != telegram.ChatPrivate || next.Message.From.ID != 5000001 {
		t.Errorf("private update = %+v", next.Message)
	}

	resp = telegramtest.Send(t, hook.URL, "", u)
	if resp.StatusCode != 200 || header != "" {
		t.Errorf("without a secret: status %d, header %q", resp.StatusCode, header)
	}
}
