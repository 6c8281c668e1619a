package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/app/channel"
	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
	"parley/app/channel/webhook"
	"parley/app/config"
	"parley/app/crypto"
	"parley/app/jobs"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// testSecretKey is the PARLEY_SECRET_KEY of the channel tests.
var testSecretKey = strings.Repeat("k", 40)

// testBotToken is the Telegram bot token the tests' integrations hold.
const testBotToken = "123456789:AAE_test-token-0123456789abcdefghij"

// scriptModel is an OpenAI-compatible endpoint whose answers a test
// scripts: "Answer to: <the last user message>" by default, streamed in
// chunks; answers maps a message to another answer; delay slows each
// answer down; hang holds the next n calls until the client goes.
type scriptModel struct {
	url string

	mu      sync.Mutex
	answers map[string]string
	delay   time.Duration
	chunk   time.Duration // between streamed chunks
	hang    int
	calls   map[string]int
	arrived chan string
}

func newScriptModel(t testing.TB) *scriptModel {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &scriptModel{url: "http://" + ln.Addr().String() + "/v1", answers: map[string]string{}, calls: map[string]int{},
		arrived: make(chan string, 1000)}
	srv := &http.Server{Handler: http.HandlerFunc(m.serve)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return m
}

func (m *scriptModel) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
		return
	}
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	last := ""
	for _, msg := range req.Messages {
		if msg.Role == "user" {
			last = msg.Content
		}
	}
	m.mu.Lock()
	m.calls[last]++
	answer, ok := m.answers[last]
	if !ok {
		answer = "Answer to: " + last
	}
	hang := m.hang > 0
	if hang {
		m.hang--
	}
	delay, chunkGap := m.delay, m.chunk
	m.mu.Unlock()
	m.arrived <- last
	if hang {
		<-r.Context().Done()
		return
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	w.Header().Set("Content-Type", "text/event-stream")
	const size = 400
	for i := 0; i < len(answer); i += size {
		part := answer[i:min(i+size, len(answer))]
		b, _ := json.Marshal(part)
		fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", b)
		w.(http.Flusher).Flush()
		if chunkGap > 0 {
			time.Sleep(chunkGap)
		}
	}
	fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
}

// set scripts the model under its lock.
func (m *scriptModel) set(f func(m *scriptModel)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

// callsFor counts the model's calls for a user message.
func (m *scriptModel) callsFor(text string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls[text]
}

// chanApp is Parley started in this process exactly as serve starts it
// (start: build, recovery, the job queue, the HTTP server on 127.0.0.1),
// with a fake Telegram, a scripted model and a bot that uses it.
type chanApp struct {
	t     testing.TB
	st    *store.Store
	r     *running
	base  string
	tg    *telegramtest.Server
	model *scriptModel
	bot   *models.Bot
}

// newChanApp starts Parley on a fresh database of the dialect; tweak may
// change the configuration first.
func newChanApp(t testing.TB, dialect string, tweak ...func(*config.Config)) *chanApp {
	t.Helper()
	ctx := context.Background()
	tg := telegramtest.NewServer(t)
	tg.RequireValidHTML()
	model := newScriptModel(t)
	dbURL := storetest.URL(t, dialect)
	env := map[string]string{"DATABASE_URL": dbURL, "HOST": "127.0.0.1", "PORT": "0", "PARLEY_SECRET_KEY": testSecretKey,
		"PARLEY_TELEGRAM_API_URL": tg.URL(), "PARLEY_PUBLIC_URL": "http://parley.test", "PARLEY_FETCH_ALLOW": "127.0.0.1", "LOG_LEVEL": "warn"}
	cfg, err := config.Load(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Channels.RetryBase = 100 * time.Millisecond
	for _, f := range tweak {
		f(&cfg)
	}
	st, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, st, log); err != nil {
		t.Fatal(err)
	}
	r, err := start(ctx, cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.stop(10 * time.Second) })
	a := &chanApp{t: t, st: st, r: r, base: "http://" + r.addr, tg: tg, model: model}
	if _, err := st.CreateProvider(ctx, models.Provider{Name: "script", Kind: models.ProviderKindOpenAI, BaseURL: model.url,
		DefaultModel: "m", TimeoutSeconds: 60}, ""); err != nil {
		t.Fatal(err)
	}
	a.bot, err = st.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Helper", Backstory: "Help.", Model: "script/m"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testWriter sends the server's warnings to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// telegramBot is a Telegram integration of a chanApp, set up with the fake.
type telegramBot struct {
	a      *chanApp
	it     *models.Integration
	url    string
	secret string
}

// newTelegram creates and sets up a Telegram integration of the app's bot.
func (a *chanApp) newTelegram(tweak ...func(*models.Integration)) *telegramBot {
	a.t.Helper()
	ctx := context.Background()
	in := models.Integration{Type: models.IntegrationTelegram, Name: "Telegram", BotID: &a.bot.ID}
	for _, f := range tweak {
		f(&in)
	}
	tok := testBotToken
	it, _, err := a.st.CreateIntegration(ctx, store.IntegrationInput{Integration: in, BotToken: &tok})
	if err != nil {
		a.t.Fatal(err)
	}
	if it, err = a.r.parts.channels.SetupTelegram(ctx, it.ID); err != nil {
		a.t.Fatalf("SetupTelegram: %v", err)
	}
	calls := a.tg.Calls("setWebhook")
	if len(calls) == 0 {
		a.t.Fatal("setup never called setWebhook")
	}
	return &telegramBot{a: a, it: it, url: a.base + channel.WebhookPath(it.ID), secret: calls[len(calls)-1].SecretToken}
}

// send posts an update as Telegram does and returns the status.
func (b *telegramBot) send(u telegram.Update) int {
	b.a.t.Helper()
	return telegramtest.Send(b.a.t, b.url, b.secret, u).StatusCode
}

// wantSent waits until the fake Telegram has n messages sent to chat and
// returns them (in order), failing after a while.
func (a *chanApp) wantSent(chat int64, n int) []string {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := a.sentTo(chat)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("chat %d: %d messages sent, want %d: %q", chat, len(got), n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sentTo is the texts sent to a chat so far (sendMessage answered 200).
func (a *chanApp) sentTo(chat int64) []string {
	var out []string
	for _, c := range a.tg.Calls("sendMessage") {
		if c.ChatID == chat && c.Status == http.StatusOK {
			out = append(out, c.Text)
		}
	}
	return out
}

// settle waits a little for anything that should not happen (a second
// reply) to have had its chance.
func settle() { time.Sleep(700 * time.Millisecond) }

// count counts rows of a table.
func (a *chanApp) count(table, where string, args ...any) int64 {
	a.t.Helper()
	var n int64
	q := a.st.DB().Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		a.t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// webhookBot is a generic webhook integration of a chanApp.
type webhookBot struct {
	a      *chanApp
	it     *models.Integration
	url    string
	secret string
}

// newWebhook creates a webhook integration of the app's bot.
func (a *chanApp) newWebhook(callback string) *webhookBot {
	a.t.Helper()
	it, secret, err := a.st.CreateIntegration(context.Background(), store.IntegrationInput{Integration: models.Integration{
		Type: models.IntegrationWebhook, Name: "Webhook", BotID: &a.bot.ID, Webhook: models.WebhookSettings{CallbackURL: callback}}})
	if err != nil {
		a.t.Fatal(err)
	}
	return &webhookBot{a: a, it: it, url: a.base + "/channels/webhook/" + it.ID, secret: secret}
}

// post sends a webhook event signed at time at with secret (the
// integration's when empty) and returns the status and the JSON answer.
func (w *webhookBot) post(query string, body any, secret string, at time.Time) (int, map[string]any) {
	w.a.t.Helper()
	raw, _ := json.Marshal(body)
	if secret == "" {
		secret = w.secret
	}
	req, _ := http.NewRequest(http.MethodPost, w.url+query, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, at, raw))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.a.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// callbackServer is an integration's callback URL: it checks signatures,
// records what it received and fails the first fail calls with 503.
type callbackServer struct {
	url    string
	secret atomic.Value
	mu     sync.Mutex
	got    []webhook.Reply
	bad    int
	fail   int
}

func newCallbackServer(t testing.TB, fail int) *callbackServer {
	t.Helper()
	cb := &callbackServer{fail: fail}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb.url = "http://" + ln.Addr().String() + "/hook"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		secret, _ := cb.secret.Load().(string)
		cb.mu.Lock()
		defer cb.mu.Unlock()
		if webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), raw, time.Now()) != nil {
			cb.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if cb.fail > 0 {
			cb.fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "try later")
			return
		}
		var rep webhook.Reply
		_ = json.Unmarshal(raw, &rep)
		cb.got = append(cb.got, rep)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return cb
}

func (cb *callbackServer) replies() []webhook.Reply {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]webhook.Reply(nil), cb.got...)
}

// boxFor is the Box a process with testSecretKey seals secrets with, for
// tests that prepare a database the binary then reads.
func boxFor(t testing.TB, dbURL string) *crypto.Box {
	t.Helper()
	key, err := crypto.KeyFor(testSecretKey, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crypto.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
