package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app/channel"
	"parley/app/channel/telegram"
	"parley/app/channel/telegram/telegramtest"
	"parley/app/config"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// eachChanApp runs fn on a fresh Parley per database.
func eachChanApp(t *testing.T, fn func(t *testing.T, a *chanApp), tweak ...func(*config.Config)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) { fn(t, newChanApp(t, d, tweak...)) })
	}
}

// userMessages counts the user messages of the integration's conversations.
func (a *chanApp) userMessages(integrationID string) int64 {
	a.t.Helper()
	return a.count("messages", "type = ? AND conversation_id IN (SELECT id FROM conversations WHERE integration_id = ?)",
		models.MessageUser, integrationID)
}

// TestTelegramDuplicateUpdate delivers one update three times, as Telegram
// retries: each is acknowledged with 200, one user message is stored, the
// bot answers once and one reply is sent; the audit counts two duplicates.
func TestTelegramDuplicateUpdate(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		u := telegramtest.TextUpdate(4242, 0, "Hello there")
		for i := range 3 {
			if got := b.send(u); got != http.StatusOK {
				t.Fatalf("delivery %d: status %d", i+1, got)
			}
		}
		a.wantSent(4242, 1)
		settle()
		if sent := a.sentTo(4242); len(sent) != 1 || sent[0] != "Answer to: Hello there" {
			t.Errorf("sent %q, want one answer", sent)
		}
		if n := a.userMessages(b.it.ID); n != 1 {
			t.Errorf("%d user messages, want 1", n)
		}
		if n := a.model.callsFor("Hello there"); n != 1 {
			t.Errorf("the model was asked %d times, want once", n)
		}
		ev, err := a.st.FindEventByExternalID(t.Context(), b.it.ID, fmt.Sprint(u.UpdateID))
		if err != nil || ev.Duplicates != 2 || ev.Status != models.EventProcessed || ev.BotMessageID == nil {
			t.Errorf("audit: %+v, %v", ev, err)
		}
		if calls := a.tg.Calls("sendChatAction"); len(calls) == 0 || calls[0].Action != telegram.ActionTyping {
			t.Errorf("no typing action while answering: %v", calls)
		}
	})
}

// TestTelegramConcurrentFirstMessages sends 100 first messages of a new chat
// at once: one conversation is made, and each message is answered once.
func TestTelegramConcurrentFirstMessages(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		const n = 100
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = b.send(telegramtest.TextUpdate(777, 0, fmt.Sprintf("q%d", i)))
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Fatalf("update %d: status %d", i, s)
			}
		}
		a.wantSent(777, n)
		settle()
		sent := a.sentTo(777)
		seen := map[string]int{}
		for _, s := range sent {
			seen[s]++
		}
		for i := range n {
			if want := fmt.Sprintf("Answer to: q%d", i); seen[want] != 1 {
				t.Errorf("%q sent %d times, want once", want, seen[want])
			}
		}
		if len(sent) != n {
			t.Errorf("%d messages sent, want %d", len(sent), n)
		}
		if got := a.count("conversations", "integration_id = ?", b.it.ID); got != 1 {
			t.Errorf("%d conversations, want 1", got)
		}
		if got := a.userMessages(b.it.ID); got != n {
			t.Errorf("%d user messages, want %d", got, n)
		}
	})
}

// TestTelegramOrder delivers 20 updates of a chat back to back, each
// acknowledged before the next as Telegram does, while the bot takes its
// time: the messages queue and are answered, and replied to, in that order.
func TestTelegramOrder(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		a.model.set(func(m *scriptModel) { m.delay = 30 * time.Millisecond })
		const n = 20
		var want []string
		for i := range n {
			text := fmt.Sprintf("message %02d", i)
			if got := b.send(telegramtest.TextUpdate(888, 0, text)); got != http.StatusOK {
				t.Fatalf("update %d: %d", i, got)
			}
			want = append(want, "Answer to: "+text)
		}
		got := a.wantSent(888, n)
		if !slices.Equal(got, want) {
			t.Errorf("replies out of order:\n got %q\nwant %q", got, want)
		}
	})
}

// TestTelegramWrongSecret posts updates without the webhook's secret token,
// or with another: 401, and nothing is stored.
func TestTelegramWrongSecret(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		for _, secret := range []string{"", "wrong", b.secret + "x"} {
			if got := telegramtest.Send(t, b.url, secret, telegramtest.TextUpdate(1, 0, "let me in")).StatusCode; got != http.StatusUnauthorized {
				t.Errorf("secret %q: status %d, want 401", secret, got)
			}
		}
		res := telegramtest.Send(t, a.base+channel.WebhookPath(models.NewID()), b.secret, telegramtest.TextUpdate(1, 0, "x"))
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("unknown integration: %d, want 404", res.StatusCode)
		}
		for _, table := range []string{"inbound_events", "conversations", "contacts", "outbound_deliveries"} {
			if n := a.count(table, ""); n != 0 {
				t.Errorf("%d rows in %s after refused updates", n, table)
			}
		}
	})
}

// TestTelegramRetryAfter makes Telegram answer the first reply with 429 and
// retry_after 1: the reply is sent after the wait, the audit shows both
// attempts, and another chat's reply waits for the pause too (flood control
// is per bot).
func TestTelegramRetryAfter(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		a.tg.FailNext("sendMessage", http.StatusTooManyRequests, 1)
		u := telegramtest.TextUpdate(901, 0, "first")
		b.send(u)
		a.wantSent(901, 1)
		ctx := t.Context()
		d := a.waitDelivery(b.it.ID, u)
		if d.Status != models.DeliveryDelivered || len(d.AttemptLog) != 2 {
			t.Fatalf("delivery %s with %d attempts, want delivered after 2", d.Status, len(d.AttemptLog))
		}
		first, second := d.AttemptLog[0], d.AttemptLog[1]
		if first.StatusCode != http.StatusTooManyRequests || first.Outcome != models.AttemptRetry || first.RetryAt == nil ||
			first.RetryAt.Sub(first.StartedAt) < time.Second {
			t.Errorf("first attempt = %+v, want a 429 retried after 1s", first)
		}
		if second.Outcome != models.AttemptSent || second.StartedAt.Before(*first.RetryAt) {
			t.Errorf("second attempt = %+v, want sent after %v", second, first.RetryAt)
		}
		it, _ := a.st.FindIntegration(ctx, b.it.ID)
		if it.PausedUntil == nil || !it.PausedUntil.Equal(*first.RetryAt) {
			t.Errorf("the integration's pause = %v, want %v", it.PausedUntil, first.RetryAt)
		}

		// Another chat during a pause: its reply waits until the pause ends.
		a.tg.FailNext("sendMessage", http.StatusTooManyRequests, 2)
		b.send(telegramtest.TextUpdate(902, 0, "second"))
		deadline := time.Now().Add(20 * time.Second)
		for {
			if it, _ = a.st.FindIntegration(ctx, b.it.ID); it.PausedUntil != nil && it.PausedUntil.After(*first.RetryAt) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the second 429 never paused the bot")
			}
			time.Sleep(20 * time.Millisecond)
		}
		pause := *it.PausedUntil
		u3 := telegramtest.TextUpdate(903, 0, "third")
		b.send(u3)
		a.wantSent(902, 1)
		a.wantSent(903, 1)
		d3 := a.waitDelivery(b.it.ID, u3)
		if len(d3.AttemptLog) == 0 {
			t.Fatalf("third chat's delivery: %+v", d3)
		}
		if at := d3.AttemptLog[0].StartedAt; at.Before(pause) {
			t.Errorf("another chat's reply was sent at %v, during the bot's pause (until %v)", at, pause)
		}
	})
}

// TestTelegramLongAnswerAndEscaping: a 6,000-character answer goes out as
// two messages of valid Telegram HTML; <b>, & and <script> written by the
// model are escaped, not interpreted.
func TestTelegramLongAnswerAndEscaping(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram()
		var long strings.Builder
		for i := 0; long.Len() < 6000; i++ {
			fmt.Fprintf(&long, "Paragraph %d of a long answer, with **some bold** words and more words to fill the line.\n\n", i)
		}
		answer := long.String()[:6000]
		a.model.set(func(m *scriptModel) {
			m.answers["long please"] = answer
			m.answers["markup please"] = "Use <b>bold</b> & <script>alert(1)</script> carefully."
		})
		b.send(telegramtest.TextUpdate(1001, 0, "long please"))
		a.wantSent(1001, 2)
		settle()
		parts := a.sentTo(1001)
		if len(parts) != 2 {
			t.Fatalf("%d messages for a 6,000-character answer, want 2", len(parts))
		}
		for i, p := range parts {
			if err := telegramtest.Valid(p); err != nil {
				t.Errorf("part %d is not valid Telegram HTML: %v", i+1, err)
			}
		}
		plain := ""
		for _, p := range parts {
			s, _ := telegramtest.PlainText(p)
			plain += s
		}
		if !strings.Contains(plain, "Paragraph 0 of a long answer") || !strings.Contains(plain, "Paragraph 60") {
			t.Errorf("the parts lose text: %.200q…", plain)
		}

		b.send(telegramtest.TextUpdate(1002, 0, "markup please"))
		got := a.wantSent(1002, 1)[0]
		if err := telegramtest.Valid(got); err != nil {
			t.Errorf("not valid Telegram HTML: %v (%q)", err, got)
		}
		for _, want := range []string{"&lt;b&gt;bold&lt;/b&gt;", "&amp;", "&lt;script&gt;"} {
			if !strings.Contains(got, want) {
				t.Errorf("sent %q, want it to contain %q", got, want)
			}
		}
		if strings.Contains(got, "<script>") || strings.Contains(got, "<b>bold") {
			t.Errorf("the model's markup went through: %q", got)
		}
	})
}

// TestTelegramSessionRollover: after the integration's session duration of
// inactivity, the chat's next message starts a new conversation; the older
// one stays, linked to the same thread.
func TestTelegramSessionRollover(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram(func(it *models.Integration) { it.SessionDuration = 1000 })
		b.send(telegramtest.TextUpdate(1101, 0, "one"))
		b.send(telegramtest.TextUpdate(1101, 0, "two")) // well within the session
		a.wantSent(1101, 2)
		if n := a.count("conversations", "integration_id = ?", b.it.ID); n != 1 {
			t.Fatalf("%d conversations within the session, want 1", n)
		}
		time.Sleep(1200 * time.Millisecond) // more than the session duration since "two"
		b.send(telegramtest.TextUpdate(1101, 0, "three"))
		a.wantSent(1101, 3)
		ctx := t.Context()
		th, err := a.st.FindThread(ctx, b.it.ID, "1101")
		if err != nil {
			t.Fatal(err)
		}
		history, _, err := a.st.FindConversations(ctx, models.ConversationFilter{ThreadID: th.ID, Page: models.Page{Order: models.OrderAsc}})
		if err != nil || len(history) != 2 {
			t.Fatalf("thread history: %d conversations, %v; want 2", len(history), err)
		}
		if models.Deref(th.ConversationID) != history[1].ID {
			t.Errorf("the thread's current conversation is %v, want the newer %s", th.ConversationID, history[1].ID)
		}
		for i, c := range history {
			msgs, _, _ := a.st.FindMessages(ctx, c.ID, models.Page{Order: models.OrderAsc})
			if len(msgs) != 2*(2-i) {
				t.Errorf("conversation %d has %d messages", i+1, len(msgs))
			}
			if models.Deref(c.ContactID) == "" || models.Deref(c.IntegrationID) != b.it.ID {
				t.Errorf("conversation %d: contact %v, integration %v", i+1, c.ContactID, c.IntegrationID)
			}
		}
	})
}

// TestTelegramCommandsAllowFromAndIgnored: /start greets without asking the
// model, /new starts a new conversation, a sticker is acknowledged and
// audited as ignored, and with allowFrom set a stranger gets a short
// refusal (audited as rejected) while an allowed user gets answers.
func TestTelegramCommandsAllowFromAndIgnored(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		ctx := t.Context()
		b := a.newTelegram(func(it *models.Integration) {
			it.Telegram.Intro = "Hi, I am the Helper bot."
			it.Telegram.AllowFrom = "@ada, 1202"
			it.Telegram.ContactCollection = true
		})
		if b.it.Telegram.Username != "ParleyTestBot" {
			t.Errorf("setup stored the username %q", b.it.Telegram.Username)
		}
		if calls := a.tg.Calls("setWebhook"); !slices.Equal(calls[0].AllowedUpdates, []string{"message"}) || calls[0].URL != "http://parley.test/channels/telegram/"+b.it.ID {
			t.Errorf("setWebhook = %+v", calls[0])
		}
		b.send(telegramtest.TextUpdate(1201, 0, "/start"))
		if got := a.wantSent(1201, 1); got[0] != "Hi, I am the Helper bot." {
			t.Errorf("/start answered %q", got)
		}
		b.send(telegramtest.TextUpdate(1201, 0, "hello"))
		a.wantSent(1201, 2)
		b.send(telegramtest.TextUpdate(1201, 0, "/new"))
		if got := a.wantSent(1201, 3); got[2] != channel.NewConversationText {
			t.Errorf("/new answered %q", got[2])
		}
		b.send(telegramtest.TextUpdate(1201, 0, "again"))
		a.wantSent(1201, 4)
		if n := a.count("conversations", "integration_id = ?", b.it.ID); n != 2 {
			t.Errorf("%d conversations after /new, want 2", n)
		}
		if a.model.callsFor("/start") != 0 || a.model.callsFor("/new") != 0 {
			t.Error("a command was sent to the model")
		}
		c, err := a.st.FindContactByFingerprint(ctx, "telegram:1201")
		if err != nil || c.Name != "Ada Lovelace" || c.Nick != "ada" {
			t.Errorf("contact = %+v, %v", c, err)
		}

		sticker := telegramtest.TextUpdate(1201, 0, "")
		sticker.Message.Sticker = &telegram.Sticker{FileID: "f", FileUniqueID: "u", Emoji: "👍"}
		if got := b.send(sticker); got != http.StatusOK {
			t.Errorf("sticker: status %d", got)
		}
		ev, err := a.st.FindEventByExternalID(ctx, b.it.ID, fmt.Sprint(sticker.UpdateID))
		if err != nil || ev.Status != models.EventIgnored || ev.Reason != "sticker" {
			t.Errorf("sticker audit: %+v, %v", ev, err)
		}

		// A stranger (not @ada, not 1202): refused, audited, no conversation.
		stranger := telegramtest.TextUpdate(1301, 0, "can I talk?")
		stranger.Message.From.Username = "mallory"
		b.send(stranger)
		if got := a.wantSent(1301, 1); got[0] != channel.RefusalText {
			t.Errorf("the stranger got %q", got)
		}
		ev, err = a.st.FindEventByExternalID(ctx, b.it.ID, fmt.Sprint(stranger.UpdateID))
		if err != nil || ev.Status != models.EventRejected || !strings.Contains(ev.Reason, "allowFrom") || ev.ConversationID != nil {
			t.Errorf("refusal audit: %+v, %v", ev, err)
		}
		if a.model.callsFor("can I talk?") != 0 {
			t.Error("the stranger's message reached the model")
		}
		// Allowed by id, whatever the username.
		byID := telegramtest.TextUpdate(1202, 0, "by id")
		byID.Message.From.Username = "someone"
		b.send(byID)
		if got := a.wantSent(1202, 1); got[0] != "Answer to: by id" {
			t.Errorf("the user allowed by id got %q", got)
		}
		info, err := a.r.parts.channels.TelegramHealth(ctx, b.it.ID)
		if err != nil || info.URL != "http://parley.test/channels/telegram/"+b.it.ID {
			t.Errorf("health = %+v, %v", info, err)
		}
	})
}

// TestTelegramDraftStreaming: with streaming on, a private chat sees the
// answer's draft while it is written (sendMessageDraft), then the message.
func TestTelegramDraftStreaming(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		b := a.newTelegram(func(it *models.Integration) { it.Telegram.Stream = true })
		a.model.set(func(m *scriptModel) {
			m.answers["stream it"] = strings.Repeat("A streamed answer. ", 120)
			m.chunk = 250 * time.Millisecond
		})
		b.send(telegramtest.TextUpdate(1401, 0, "stream it"))
		a.wantSent(1401, 1)
		drafts := a.tg.Calls("sendMessageDraft")
		if len(drafts) == 0 {
			t.Fatal("no draft was shown while the answer streamed")
		}
		if drafts[0].ChatID != 1401 || drafts[0].DraftID == 0 || !strings.HasPrefix(drafts[0].Text, "A streamed answer.") {
			t.Errorf("first draft = %+v", drafts[0])
		}
	})
}

// TestWebhookSignature posts unsigned, wrongly signed and stale events:
// 401 each time and nothing stored.
func TestWebhookSignature(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		w := a.newWebhook("")
		body := map[string]any{"eventId": "e1", "conversationId": "c1", "text": "hello"}
		for _, tc := range []struct {
			name   string
			secret string
			at     time.Time
		}{
			{"WrongSecret", "whsec_wrong", time.Now()},
			{"Expired", "", time.Now().Add(-6 * time.Minute)},
			{"Future", "", time.Now().Add(6 * time.Minute)},
		} {
			if got, out := w.post("", body, tc.secret, tc.at); got != http.StatusUnauthorized || out["code"] != "UNAUTHORIZED" {
				t.Errorf("%s: %d %v, want 401", tc.name, got, out)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, w.url, strings.NewReader(`{"eventId":"e1","conversationId":"c1","text":"hello"}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned: %d, want 401", res.StatusCode)
		}
		if got, out := w.post("", map[string]any{"eventId": "e2"}, "", time.Now()); got != http.StatusBadRequest || out["code"] == nil {
			t.Errorf("a signed event without its fields: %d %v, want 400", got, out)
		}
		for _, table := range []string{"inbound_events", "conversations", "outbound_deliveries"} {
			if n := a.count(table, ""); n != 0 {
				t.Errorf("%d rows in %s after refused events", n, table)
			}
		}
	})
}

// TestWebhookWait posts events with ?wait=1: the reply comes back in the
// response, recorded as delivered in the response; the same eventId again
// returns the same reply without asking the bot again.
func TestWebhookWait(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		w := a.newWebhook("")
		body := map[string]any{"eventId": "w1", "conversationId": "conv-9", "text": "wait for me",
			"contact": map[string]any{"fingerprint": "crm:42", "name": "Grace", "email": "grace@example.com"}}
		status, out := w.post("?wait=1", body, "", time.Now())
		reply, _ := out["reply"].(map[string]any)
		if status != http.StatusOK || reply == nil || reply["text"] != "Answer to: wait for me" || out["status"] != models.EventProcessed {
			t.Fatalf("wait=1: %d %v", status, out)
		}
		status, again := w.post("?wait=1", body, "", time.Now())
		if status != http.StatusOK || again["duplicate"] != true || again["reply"].(map[string]any)["text"] != "Answer to: wait for me" {
			t.Errorf("the same event again: %d %v", status, again)
		}
		if n := a.model.callsFor("wait for me"); n != 1 {
			t.Errorf("the bot answered %d times", n)
		}
		d, err := a.st.FindDelivery(t.Context(), reply["deliveryId"].(string))
		if err != nil || d.Mode != models.DeliveryResponse || d.Status != models.DeliveryDelivered {
			t.Errorf("delivery = %+v, %v", d, err)
		}
		c, err := a.st.FindContactByFingerprint(t.Context(), "crm:42")
		if err != nil || c.Email != "grace@example.com" {
			t.Errorf("contact = %+v, %v", c, err)
		}
	})
}

// TestWebhookCallbackRetries: the reply to an event goes to the callback
// URL, signed; the callback fails twice with 503 and the reply is retried
// until it is taken, each attempt in the audit. A callback the SSRF guard
// refuses fails for good at once.
func TestWebhookCallbackRetries(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		cb := newCallbackServer(t, 2)
		w := a.newWebhook(cb.url)
		cb.secret.Store(w.secret)
		status, out := w.post("", map[string]any{"eventId": "cb1", "conversationId": "c-1", "text": "call me back"}, "", time.Now())
		if status != http.StatusAccepted || out["status"] != models.EventQueued {
			t.Fatalf("post: %d %v", status, out)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(cb.replies()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		got := cb.replies()
		if len(got) != 1 || got[0].Text != "Answer to: call me back" || got[0].EventID != "cb1" || got[0].ConversationID != "c-1" {
			t.Fatalf("callback received %+v", got)
		}
		var d *models.OutboundDelivery
		for time.Now().Before(deadline) { // the callback took it just before Parley recorded so
			if d, _ = a.st.FindDelivery(t.Context(), got[0].DeliveryID); d != nil && d.Finished() {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if d == nil || d.Status != models.DeliveryDelivered || len(d.AttemptLog) != 3 {
			t.Fatalf("delivery = %+v", d)
		}
		for i, at := range d.AttemptLog[:2] {
			if at.StatusCode != http.StatusServiceUnavailable || at.Outcome != models.AttemptRetry || at.Response != "try later" {
				t.Errorf("attempt %d = %+v", i+1, at)
			}
		}
		if cb.bad != 0 {
			t.Errorf("%d callbacks were not signed right", cb.bad)
		}

		// A callback on a host the guard refuses (not in PARLEY_FETCH_ALLOW).
		blocked := a.newWebhook("http://10.255.255.1/hook")
		blocked.post("", map[string]any{"eventId": "b1", "conversationId": "c-2", "text": "blocked?"}, "", time.Now())
		var bd *models.OutboundDelivery
		for time.Now().Before(deadline) {
			ds, _, _ := a.st.FindDeliveries(t.Context(), models.DeliveryFilter{IntegrationID: blocked.it.ID})
			if len(ds) == 1 && ds[0].Finished() {
				bd = &ds[0]
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if bd == nil || bd.Status != models.DeliveryFailed || !strings.Contains(bd.LastError, "blocked") || bd.Attempts != 1 {
			t.Errorf("blocked callback delivery = %+v", bd)
		}
	})
}

// TestTelegramDeliveryGivesUp: 5xx answers and a dropped connection are
// retried with backoff up to the cap, then the reply is failed, visibly in
// the audit, and the chat's next reply still goes out; a refusal that no
// retry can fix (403: the user blocked the bot) fails at once.
func TestTelegramDeliveryGivesUp(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		ctx := t.Context()
		b := a.newTelegram()
		a.tg.FailNext("sendMessage", http.StatusBadGateway, 0)
		a.tg.FailNext("sendMessage", 0, 0)
		a.tg.FailNext("sendMessage", http.StatusInternalServerError, 0)
		u := telegramtest.TextUpdate(1501, 0, "doomed")
		b.send(u)
		d := a.waitDelivery(b.it.ID, u)
		if d.Status != models.DeliveryFailed || len(d.AttemptLog) != 3 || !strings.Contains(d.LastError, "gave up after 2 retries") {
			t.Fatalf("delivery = %s after %d attempts (%q), want failed after 3", d.Status, len(d.AttemptLog), d.LastError)
		}
		for i, want := range []string{models.AttemptRetry, models.AttemptRetry, models.AttemptFailed} {
			if got := d.AttemptLog[i]; got.Outcome != want {
				t.Errorf("attempt %d = %+v, want %s", i+1, got, want)
			}
		}
		if d.AttemptLog[1].StatusCode != 0 || d.AttemptLog[1].Error == "" {
			t.Errorf("the dropped connection's attempt = %+v", d.AttemptLog[1])
		}
		// Backoff: each retry is due later after its failure than the one
		// before (the queue's own latency makes the actual gaps noisy), and
		// none is tried before it is due.
		var waits []time.Duration
		for i, at := range d.AttemptLog[:2] {
			if at.RetryAt == nil {
				t.Fatalf("attempt %d has no retry time: %+v", i+1, at)
			}
			waits = append(waits, at.RetryAt.Sub(at.StartedAt))
			if next := d.AttemptLog[i+1].StartedAt; next.Before(*at.RetryAt) {
				t.Errorf("attempt %d came at %s, before its retry time %s", i+2, next, at.RetryAt)
			}
		}
		if waits[1] <= waits[0] {
			t.Errorf("no backoff: the retries were due %s then %s after their failures", waits[0], waits[1])
		}
		ev, _ := a.st.FindEventByExternalID(ctx, b.it.ID, fmt.Sprint(u.UpdateID))
		if ev.Status != models.EventProcessed || ev.BotMessageID == nil {
			t.Errorf("the event = %+v: it was answered, only the delivery failed", ev)
		}
		b.send(telegramtest.TextUpdate(1501, 0, "next"))
		if got := a.wantSent(1501, 1); got[0] != "Answer to: next" {
			t.Errorf("after a failed reply the chat got %q", got)
		}

		a.tg.FailNext("sendMessage", http.StatusForbidden, 0)
		u = telegramtest.TextUpdate(1502, 0, "blocked me")
		b.send(u)
		d = a.waitDelivery(b.it.ID, u)
		if d.Status != models.DeliveryFailed || len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != http.StatusForbidden {
			t.Errorf("403: %s after %d attempts", d.Status, len(d.AttemptLog))
		}
	}, func(c *config.Config) { c.Channels.DeliveryRetries = 2 })
}

// waitDelivery waits for the delivery of an update to finish and returns it.
func (a *chanApp) waitDelivery(integrationID string, u telegram.Update) *models.OutboundDelivery {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if ev, err := a.st.FindEventByExternalID(context.Background(), integrationID, fmt.Sprint(u.UpdateID)); err == nil {
			if d, err := a.st.FindEventDelivery(context.Background(), ev.ID); err == nil && d.Finished() {
				return d
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.t.Fatalf("update %d: its delivery did not finish", u.UpdateID)
	return nil
}

// TestTelegramRepliesBehindAWaitingOne holds a chat's first reply waiting
// for its answer while the 59 after it are ready: their delivery jobs leave
// them to the first one's (replies never overtake), and when the first is
// answered its job sends all 60, in order — more than one read of the
// thread's open deliveries (a job that stopped after its first batch left
// the rest unsent for good).
func TestTelegramRepliesBehindAWaitingOne(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		ctx := t.Context()
		b := a.newTelegram()
		const n = 60
		later := time.Now().Add(time.Hour) // the events' own jobs do not run
		ids := make([]string, n)
		for i := range n {
			ev, _, err := a.st.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: b.it.ID, ExternalID: fmt.Sprint(5000 + i),
				ExternalKey: "777", ChatID: "777", ChatType: "private", Kind: models.EventKindText, Text: fmt.Sprintf("q%d", i)}, later)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = ev.ID
			if _, _, err := a.st.RecordEventStep(ctx, ev.ID, store.EventStep{Reply: &store.Reply{Kind: models.DeliveryReply, Waiting: true}}); err != nil {
				t.Fatal(err)
			}
		}
		answer := func(i int) {
			t.Helper()
			if _, _, err := a.st.RecordEventStep(ctx, ids[i], store.EventStep{Status: models.EventProcessed,
				Reply: &store.Reply{Kind: models.DeliveryReply, Text: fmt.Sprintf("reply %02d", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i < n; i++ {
			answer(i)
		}
		deadline := time.Now().Add(30 * time.Second)
		for a.count("river_job", "kind = ? AND state = ?", "channel_delivery", "completed") < n-1 {
			if time.Now().After(deadline) {
				t.Fatal("the delivery jobs of the ready replies did not finish")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if sent := a.sentTo(777); len(sent) != 0 {
			t.Fatalf("sent %q while the first reply was waiting", sent)
		}
		answer(0)
		got := a.wantSent(777, n)
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("reply %02d", i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("replies:\n got %q\nwant %q", got, want)
		}
		// The last send is recorded just after Telegram answered it.
		deadline = time.Now().Add(10 * time.Second)
		for a.count("outbound_deliveries", "status IN ?", []string{models.DeliveryWaiting, models.DeliveryPending}) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("deliveries still open after every reply was sent")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestTelegramRecoverEveryPage leaves more queued events and pending
// replies than start-up recovery reads at once (500) — the integration is
// paused, so nothing is sent — and recovers: every one of them gets a job
// again, not only the first page's.
func TestTelegramRecoverEveryPage(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		ctx := t.Context()
		b := a.newTelegram(func(it *models.Integration) { it.Telegram.AllowFrom = "1" })
		if err := a.st.PauseIntegration(ctx, b.it.ID, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		const n = 510
		later := time.Now().Add(time.Hour) // the events' own jobs do not run
		var events, deliveries []string
		for i := range 2 * n {
			chat := fmt.Sprint(10_000 + i)
			ev, _, err := a.st.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: b.it.ID, ExternalID: fmt.Sprint(90_000 + i),
				ExternalKey: chat, ChatID: chat, ChatType: "private", Kind: models.EventKindText, Text: "hi",
				Sender: models.EventSender{Fingerprint: "telegram:42", UserID: 42}}, later)
			if err != nil {
				t.Fatal(err)
			}
			if i < n {
				events = append(events, ev.ID) // stays queued
				continue
			}
			_, d, err := a.st.RecordEventStep(ctx, ev.ID, store.EventStep{Status: models.EventRejected, Reason: "test",
				Reply: &store.Reply{Kind: models.DeliveryRefusal, Text: channel.RefusalText}})
			if err != nil {
				t.Fatal(err)
			}
			deliveries = append(deliveries, d.ID)
		}
		jobs := func(kind, field string) map[string]int {
			var args []string
			text := "json(args)" // SQLite keeps JSONB
			if a.st.DB().Dialector.Name() == "postgres" {
				text = "args::text"
			}
			if err := a.st.DB().Raw("SELECT "+text+" FROM river_job WHERE kind = ?", kind).Scan(&args).Error; err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, s := range args {
				var m map[string]string
				if err := json.Unmarshal([]byte(s), &m); err != nil {
					t.Fatalf("%s args %q: %v", kind, s, err)
				}
				out[m[field]]++
			}
			return out
		}
		if err := a.r.parts.channels.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		evJobs, dJobs := jobs("channel_event", "eventId"), jobs("channel_delivery", "deliveryId")
		missed := 0
		for _, id := range events {
			if evJobs[id] < 2 {
				missed++
			}
		}
		if missed > 0 {
			t.Errorf("%d of %d queued events got no job from recovery", missed, n)
		}
		missed = 0
		for _, id := range deliveries {
			if dJobs[id] < 2 {
				missed++
			}
		}
		if missed > 0 {
			t.Errorf("%d of %d pending replies got no job from recovery", missed, n)
		}
		if sent := a.tg.Calls("sendMessage"); len(sent) != 0 {
			t.Errorf("%d messages sent while the integration was paused", len(sent))
		}
	})
}

// TestTelegramReplyBehindARetryWithoutItsJob: a chat's reply failed once
// and is due again later, and the job that was to retry it is gone (here
// deleted; in life discarded after a database outage outlasted its
// attempts). The chat's next reply's job does not leave the thread to that
// job: it waits until the first is due and sends both, in order.
func TestTelegramReplyBehindARetryWithoutItsJob(t *testing.T) {
	eachChanApp(t, func(t *testing.T, a *chanApp) {
		ctx := t.Context()
		b := a.newTelegram()
		a.tg.FailNext("sendMessage", http.StatusInternalServerError, 0)
		first := telegramtest.TextUpdate(1601, 0, "first")
		b.send(first)
		deadline := time.Now().Add(30 * time.Second)
		for {
			ev, err := a.st.FindEventByExternalID(ctx, b.it.ID, fmt.Sprint(first.UpdateID))
			if err == nil {
				if d, err := a.st.FindEventDelivery(ctx, ev.ID); err == nil && d.Attempts == 1 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("the first reply was not tried")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := a.st.DB().Exec("DELETE FROM river_job WHERE kind = ? AND state <> ?", "channel_delivery", "completed").Error; err != nil {
			t.Fatal(err)
		}
		b.send(telegramtest.TextUpdate(1601, 0, "second"))
		if got := a.wantSent(1601, 2); !slices.Equal(got, []string{"Answer to: first", "Answer to: second"}) {
			t.Errorf("sent %q", got)
		}
	}, func(c *config.Config) { c.Channels.RetryBase = time.Second })
}
