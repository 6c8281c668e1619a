package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"parley/app/channel"
	"parley/app/channel/telegram/telegramtest"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// prepareTelegram makes, in a database the binary will serve, the provider
// of model, a bot that uses it and a Telegram integration already set up
// with a known secret token; it returns the integration and its secret.
func prepareTelegram(t *testing.T, dbURL string, model *scriptModel) (*models.Integration, string) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, dbURL)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.SetBox(boxFor(t, dbURL))
	if _, err := st.CreateProvider(ctx, models.Provider{Name: "script", Kind: models.ProviderKindOpenAI, BaseURL: model.url,
		DefaultModel: "m", TimeoutSeconds: 120}, ""); err != nil {
		t.Fatal(err)
	}
	bot, err := st.CreateBot(ctx, store.BotInput{Bot: models.Bot{Name: "Helper", Model: "script/m"}})
	if err != nil {
		t.Fatal(err)
	}
	tok := testBotToken
	it, _, err := st.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationTelegram,
		BotID: &bot.ID}, BotToken: &tok})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "test-secret-token"
	if _, err := st.SaveTelegramSetup(ctx, it.ID, store.TelegramSetup{Username: "ParleyTestBot", UserID: 1, WebhookURL: "http://parley.test", SecretToken: secret}); err != nil {
		t.Fatal(err)
	}
	return it, secret
}

// sentTo is what the fake Telegram sent to a chat.
func sentTo(tg *telegramtest.Server, chat int64) []string {
	var out []string
	for _, c := range tg.Calls("sendMessage") {
		if c.ChatID == chat && c.Status == http.StatusOK {
			out = append(out, c.Text)
		}
	}
	return out
}

func waitSent(t *testing.T, tg *telegramtest.Server, chat int64, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := sentTo(tg, chat)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %d: %d messages sent, want %d: %q", chat, len(got), n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTelegramReplyAfterKill kills Parley (SIGKILL) after it acknowledged
// an update and while the bot is answering it: after the restart the
// update's reply is delivered, once, and the timeline keeps the trace of
// the interrupted answer.
func TestTelegramReplyAfterKill(t *testing.T) {
	bin := buildBinary(t)
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			tg := telegramtest.NewServer(t)
			model := newScriptModel(t)
			model.set(func(m *scriptModel) { m.hang = 1 })
			dbURL := storetest.URL(t, d)
			it, secret := prepareTelegram(t, dbURL, model)
			env := []string{"PARLEY_SECRET_KEY=" + testSecretKey, "PARLEY_TELEGRAM_API_URL=" + tg.URL()}
			base, proc := startProcess(t, bin, dbURL, env...)

			u := telegramtest.TextUpdate(5151, 0, "are you there?")
			if res := telegramtest.Send(t, base+channel.WebhookPath(it.ID), secret, u); res.StatusCode != http.StatusOK {
				t.Fatalf("update: %d", res.StatusCode)
			}
			select {
			case <-model.arrived:
			case <-time.After(30 * time.Second):
				t.Fatal("the model was never asked")
			}
			// Acknowledged, the bot answering, nothing sent yet: kill.
			if err := proc.Process.Signal(os.Kill); err != nil {
				t.Fatal(err)
			}
			_ = proc.Wait()
			if got := sentTo(tg, 5151); len(got) != 0 {
				t.Fatalf("sent before the kill: %q", got)
			}

			restarted := time.Now()
			startProcess(t, bin, dbURL, env...)
			waitSent(t, tg, 5151, 1, 60*time.Second)
			t.Logf("the reply was delivered %s after the restart", time.Since(restarted).Round(time.Millisecond))
			settle()
			if got := sentTo(tg, 5151); len(got) != 1 || got[0] != "Answer to: are you there?" {
				t.Errorf("sent %q, want the answer once", got)
			}
			st := openStore(t, dbURL)
			ev, err := st.FindEventByExternalID(t.Context(), it.ID, fmt.Sprint(u.UpdateID))
			if err != nil || ev.Status != models.EventProcessed {
				t.Fatalf("event = %+v, %v", ev, err)
			}
			msgs, _, err := st.FindMessages(t.Context(), models.Deref(ev.ConversationID), models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, m := range msgs {
				types = append(types, m.Type)
			}
			if !slices.Equal(types, []string{models.MessageUser, models.MessageActivity, models.MessageBot}) {
				t.Errorf("timeline = %v, want the question, the interrupted answer's entry and the answer", types)
			}
		})
	}
}

// TestTelegramTwoInstances runs two Parley processes on one PostgreSQL and
// delivers one chat's updates to either in turn, each acknowledged before
// the next: every update is answered once, and the replies keep the order.
func TestTelegramTwoInstances(t *testing.T) {
	if !slices.Contains(storetest.Dialects(t), store.Postgres) {
		t.Skip("TEST_DATABASE_URL not set: two instances need PostgreSQL")
	}
	bin := buildBinary(t)
	tg := telegramtest.NewServer(t)
	model := newScriptModel(t)
	model.set(func(m *scriptModel) { m.delay = 20 * time.Millisecond })
	dbURL := storetest.URL(t, store.Postgres)
	it, secret := prepareTelegram(t, dbURL, model)
	env := []string{"PARLEY_SECRET_KEY=" + testSecretKey, "PARLEY_TELEGRAM_API_URL=" + tg.URL()}
	bases := []string{startBinary(t, bin, dbURL, env...), startBinary(t, bin, dbURL, env...)}

	const n = 30
	var want []string
	for i := range n {
		text := fmt.Sprintf("message %02d", i)
		res := telegramtest.Send(t, bases[i%2]+channel.WebhookPath(it.ID), secret, telegramtest.TextUpdate(6161, 0, text))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("update %d to instance %d: %d", i, i%2+1, res.StatusCode)
		}
		want = append(want, "Answer to: "+text)
	}
	waitSent(t, tg, 6161, n, 90*time.Second)
	settle()
	if got := sentTo(tg, 6161); !slices.Equal(got, want) {
		t.Errorf("replies:\n got %q\nwant %q", got, want)
	}
	st := openStore(t, dbURL)
	var workers []string
	if err := st.DB().Raw("SELECT DISTINCT unnest(attempted_by) FROM river_job").Scan(&workers).Error; err == nil {
		t.Logf("jobs were worked by %d River clients", len(workers))
	}
}
