// Package telegramtest is a fake Telegram Bot API for tests: an in-process
// server on 127.0.0.1 that answers like Telegram, records every call, fails
// on demand, and checks the HTML sent (Valid); and Send, which posts an
// update to a webhook as Telegram does.
package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"parley/app/channel/telegram"
)

// Call is one request the fake received, with the parameters tests assert
// on (zero when the method has none of them).
type Call struct {
	// Method is the Bot API method, e.g. "sendMessage".
	Method string
	// Token is the bot token of the request's path.
	Token string

	ChatID    int64
	ThreadID  int
	Text      string
	ParseMode string
	// ReplyTo is reply_parameters.message_id (or reply_to_message_id).
	ReplyTo int
	DraftID int
	Action  string

	// URL, SecretToken and AllowedUpdates are setWebhook's; DropPending
	// setWebhook's and deleteWebhook's.
	URL            string
	SecretToken    string
	AllowedUpdates []string
	DropPending    bool

	// Params is the whole request, decoded from JSON.
	Params map[string]any
	// Status is the HTTP status the fake answered (0: it dropped the
	// connection), MessageID the id of the message sendMessage made.
	Status    int
	MessageID int
}

// failure is a prepared failure of the next call of a method.
type failure struct {
	status     int
	retryAfter int
}

// Server is a fake Bot API. Its zero value is not usable: see NewServer.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	token   string
	bot     telegram.User
	webhook telegram.WebhookInfo
	calls   []Call
	fails   map[string][]failure
	nextID  int
	strict  bool
}

// NewServer starts a fake Bot API on 127.0.0.1, closed when the test ends.
// It accepts any token until SetToken, and its bot is @ParleyTestBot.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:      t,
		bot:    telegram.User{ID: 7000001, IsBot: true, FirstName: "Parley Test", Username: "ParleyTestBot", CanJoinGroups: true},
		fails:  map[string][]failure{},
		nextID: 100,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL to give telegram.New.
func (s *Server) URL() string { return s.srv.URL }

// SetToken makes the fake answer 401 Unauthorized, as Telegram does, to any
// other token.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetBot sets the user getMe returns and messages are sent from.
func (s *Server) SetBot(u telegram.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bot = u
}

// WebhookInfo is the webhook as setWebhook and deleteWebhook left it.
func (s *Server) WebhookInfo() telegram.WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// SetWebhookInfo sets what getWebhookInfo answers, e.g. a pending count or
// a last error for a dashboard test.
func (s *Server) SetWebhookInfo(info telegram.WebhookInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = info
}

// RequireValidHTML makes the test fail (t.Errorf) on any sendMessage or
// sendMessageDraft in parse mode HTML whose text is not Valid, on top of
// the 400 "can't parse entities" the fake answers, as Telegram does, in any
// case.
func (s *Server) RequireValidHTML() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = true
}

// FailNext makes the next call of method ("" for any) fail with status,
// as Telegram fails: 429 with parameters.retry_after = retryAfter seconds,
// 5xx with Telegram's JSON (502 and 504 with its proxy's HTML page), 400,
// 401, 403 and 409 with Telegram's usual descriptions; status 0 drops the
// connection without an answer. Failures queue: two calls, two failures.
func (s *Server) FailNext(method string, status, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[method] = append(s.fails[method], failure{status: status, retryAfter: retryAfter})
}

// Calls returns the calls of method ("" for all), in order.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Sent returns the texts of the messages sent (sendMessage answered 200),
// in order.
func (s *Server) Sent() []string {
	var out []string
	for _, c := range s.Calls("sendMessage") {
		if c.Status == http.StatusOK {
			out = append(out, c.Text)
		}
	}
	return out
}

// apiError is a failed answer.
type apiError struct {
	status      int
	description string
	retryAfter  int
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, method, ok := splitPath(r.URL.Path)
	call := Call{Method: method, Token: token}
	params, err := readParams(r)
	if err != nil {
		s.record(call)
		writeError(w, apiError{status: http.StatusBadRequest, description: "Bad Request: " + err.Error()})
		return
	}
	call.Params = params
	fillCall(&call, params)

	s.mu.Lock()
	fail, failing := s.takeFailure(method)
	wantToken := s.token
	s.mu.Unlock()

	switch {
	case !ok:
		call.Status = http.StatusNotFound
		s.record(call)
		writeError(w, apiError{status: http.StatusNotFound, description: "Not Found"})
		return
	case wantToken != "" && token != wantToken:
		call.Status = http.StatusUnauthorized
		s.record(call)
		writeError(w, apiError{status: http.StatusUnauthorized, description: "Unauthorized"})
		return
	case failing:
		call.Status = fail.status
		s.record(call)
		s.writeFailure(w, fail)
		return
	}

	result, aerr := s.handle(&call)
	if aerr != nil {
		call.Status = aerr.status
		s.record(call)
		writeError(w, *aerr)
		return
	}
	call.Status = http.StatusOK
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	body, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	w.Write(body)
}

func (s *Server) takeFailure(method string) (failure, bool) {
	for _, m := range []string{method, ""} {
		if q := s.fails[m]; len(q) > 0 {
			s.fails[m] = q[1:]
			return q[0], true
		}
	}
	return failure{}, false
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// handle answers a call: its result, or Telegram's refusal.
func (s *Server) handle(c *Call) (any, *apiError) {
	bad := func(desc string) (any, *apiError) {
		return nil, &apiError{status: http.StatusBadRequest, description: "Bad Request: " + desc}
	}
	switch c.Method {
	case "getMe":
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.bot, nil
	case "setWebhook":
		if c.URL == "" {
			s.mu.Lock()
			s.webhook = telegram.WebhookInfo{}
			s.mu.Unlock()
			return true, nil
		}
		u, err := url.Parse(c.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return bad("bad webhook: An HTTPS URL must be provided for webhook")
		}
		if _, has := c.Params["secret_token"]; has && !telegram.ValidSecretToken(c.SecretToken) {
			return bad("secret token contains unallowed characters")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		pending := s.webhook.PendingUpdateCount
		if c.DropPending {
			pending = 0
		}
		allowed := s.webhook.AllowedUpdates
		if _, has := c.Params["allowed_updates"]; has {
			allowed = c.AllowedUpdates
		}
		s.webhook = telegram.WebhookInfo{URL: c.URL, PendingUpdateCount: pending, MaxConnections: 40, AllowedUpdates: allowed, IPAddress: "127.0.0.1"}
		return true, nil
	case "deleteWebhook":
		s.mu.Lock()
		defer s.mu.Unlock()
		pending := s.webhook.PendingUpdateCount
		if c.DropPending {
			pending = 0
		}
		s.webhook = telegram.WebhookInfo{PendingUpdateCount: pending}
		return true, nil
	case "getWebhookInfo":
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.webhook, nil
	case "sendMessage":
		if c.ChatID == 0 {
			return bad("chat not found")
		}
		text, aerr := s.checkText(c, false)
		if aerr != nil {
			return nil, aerr
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.nextID++
		c.MessageID = s.nextID
		from := s.bot
		m := telegram.Message{
			MessageID: c.MessageID, From: &from, Chat: chatOf(c.ChatID),
			Date: time.Now().Unix(), Text: text,
		}
		if c.ThreadID != 0 {
			m.MessageThreadID, m.IsTopicMessage = c.ThreadID, true
		}
		return m, nil
	case "sendChatAction":
		if c.ChatID == 0 {
			return bad("chat not found")
		}
		if !chatActions[c.Action] {
			return bad("wrong parameter action in request")
		}
		return true, nil
	case "sendMessageDraft":
		if c.ChatID <= 0 {
			return bad("drafts can be sent to private chats only")
		}
		if c.DraftID == 0 {
			return bad("draft_id must be non-zero")
		}
		if _, aerr := s.checkText(c, true); aerr != nil {
			return nil, aerr
		}
		return true, nil
	}
	return nil, &apiError{status: http.StatusNotFound, description: "Not Found"}
}

var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

// checkText checks a message's text as Telegram does: entities parsed in
// parse mode HTML, then 1–4096 UTF-16 code units (0 allowed for drafts).
func (s *Server) checkText(c *Call, draft bool) (string, *apiError) {
	text := c.Text
	switch strings.ToUpper(c.ParseMode) {
	case "":
	case "HTML":
		plain, err := PlainText(c.Text)
		if err != nil {
			s.mu.Lock()
			strict := s.strict
			s.mu.Unlock()
			if strict {
				s.t.Errorf("telegramtest: %s sent invalid HTML: %v\n%s", c.Method, err, c.Text)
			}
			return "", &apiError{status: http.StatusBadRequest, description: "Bad Request: can't parse entities: " + err.Error()}
		}
		text = plain
	case "MARKDOWN", "MARKDOWNV2":
		// Not parsed: Parley sends HTML.
	default:
		return "", &apiError{status: http.StatusBadRequest, description: "Bad Request: unsupported parse_mode"}
	}
	text = strings.TrimSpace(text)
	n := len(utf16.Encode([]rune(text)))
	switch {
	case n == 0 && !draft:
		return "", &apiError{status: http.StatusBadRequest, description: "Bad Request: message text is empty"}
	case n > telegram.MaxMessageLength:
		return "", &apiError{status: http.StatusBadRequest, description: "Bad Request: message is too long"}
	}
	return text, nil
}

// chatOf makes up the chat of an id: positive ids are private chats,
// -100… supergroups, other negative ids groups.
func chatOf(id int64) telegram.Chat {
	switch {
	case id > 0:
		return telegram.Chat{ID: id, Type: telegram.ChatPrivate, FirstName: "Test", LastName: "User"}
	case id <= -1000000000000:
		return telegram.Chat{ID: id, Type: telegram.ChatSupergroup, Title: "Test Supergroup"}
	default:
		return telegram.Chat{ID: id, Type: telegram.ChatGroup, Title: "Test Group"}
	}
}

func (s *Server) writeFailure(w http.ResponseWriter, f failure) {
	switch f.status {
	case 0:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, "<html>\r\n<head><title>%[1]d %[2]s</title></head>\r\n<body>\r\n<center><h1>%[1]d %[2]s</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n", f.status, http.StatusText(f.status))
	case http.StatusTooManyRequests:
		writeError(w, apiError{status: f.status, description: "Too Many Requests: retry after " + strconv.Itoa(f.retryAfter), retryAfter: f.retryAfter})
	default:
		writeError(w, apiError{status: f.status, description: failDescriptions[f.status]})
	}
}

var failDescriptions = map[int]string{
	http.StatusBadRequest:          "Bad Request: chat not found",
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "Forbidden: bot was blocked by the user",
	http.StatusNotFound:            "Not Found",
	http.StatusConflict:            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
	http.StatusInternalServerError: "Internal Server Error",
}

func writeError(w http.ResponseWriter, e apiError) {
	body := map[string]any{"ok": false, "error_code": e.status, "description": e.description}
	if e.description == "" {
		body["description"] = http.StatusText(e.status)
	}
	if e.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": e.retryAfter}
	}
	raw, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	w.Write(raw)
}

// splitPath reads /bot<token>/<method>.
func splitPath(p string) (token, method string, ok bool) {
	rest, found := strings.CutPrefix(p, "/bot")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

// readParams reads a call's parameters: a JSON body, or a form or query
// string as Telegram also accepts.
func readParams(r *http.Request) (map[string]any, error) {
	params := map[string]any{}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(bytes.TrimSpace(raw)) == 0 {
			return params, nil
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&params); err != nil {
			return nil, fmt.Errorf("the body is not a JSON object: %v", err)
		}
		return params, nil
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, err
	}
	for k, v := range r.URL.Query() {
		form[k] = v
	}
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params, nil
}

// fillCall copies the parameters tests assert on into c.
func fillCall(c *Call, p map[string]any) {
	c.ChatID = number(p["chat_id"])
	c.ThreadID = int(number(p["message_thread_id"]))
	c.Text = str(p["text"])
	c.ParseMode = str(p["parse_mode"])
	c.DraftID = int(number(p["draft_id"]))
	c.Action = str(p["action"])
	c.URL = str(p["url"])
	c.SecretToken = str(p["secret_token"])
	c.DropPending = p["drop_pending_updates"] == true || p["drop_pending_updates"] == "true"
	c.ReplyTo = int(number(p["reply_to_message_id"]))
	if rp, ok := p["reply_parameters"].(map[string]any); ok {
		c.ReplyTo = int(number(rp["message_id"]))
	}
	switch v := p["allowed_updates"].(type) {
	case []any:
		c.AllowedUpdates = []string{}
		for _, u := range v {
			c.AllowedUpdates = append(c.AllowedUpdates, str(u))
		}
	case string:
		_ = json.Unmarshal([]byte(v), &c.AllowedUpdates)
	}
}

func number(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
