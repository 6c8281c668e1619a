package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// testBotToken is a Telegram bot token of the right shape.
const testBotToken = "123456789:AAE_test-token-0123456789abcdefghij"

// jobRecorder is an Enqueuer that writes each job into the caller's
// transaction (a settings row), so a test sees that jobs commit and roll
// back with the rows they are about; fail makes the next insert fail.
type jobRecorder struct {
	dialect string
	mu      sync.Mutex
	fail    error
}

func (j *jobRecorder) EnqueueTx(ctx context.Context, tx *sql.Tx, jobs ...store.Job) error {
	j.mu.Lock()
	fail := j.fail
	j.fail = nil
	j.mu.Unlock()
	if fail != nil {
		return fail
	}
	q := "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
	if j.dialect == store.Postgres {
		q = "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)"
	}
	for _, job := range jobs {
		at := ""
		if !job.At.IsZero() {
			at = job.At.UTC().Format(time.RFC3339Nano)
		}
		if _, err := tx.ExecContext(ctx, q, "job:"+job.Kind+":"+job.ID+":"+models.NewID(), at, time.Now().UTC()); err != nil {
			return err
		}
	}
	return nil
}

// useJobs gives the store a recording queue.
func useJobs(s *store.Store) *jobRecorder {
	j := &jobRecorder{dialect: s.Dialect()}
	s.SetQueue(j)
	return j
}

// jobsFor counts the committed jobs of a kind for a row.
func jobsFor(t *testing.T, s *store.Store, kind, id string) int64 {
	t.Helper()
	return count(t, s, "settings", "key LIKE ?", "job:"+kind+":"+id+":%")
}

func mustIntegration(t *testing.T, s *store.Store, typ string, tweak ...func(*models.Integration)) (*models.Integration, string) {
	t.Helper()
	bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Channel bot", Model: "local"}})
	it := models.Integration{Type: typ, Name: typ + " test", BotID: &bot.ID}
	for _, f := range tweak {
		f(&it)
	}
	in := store.IntegrationInput{Integration: it}
	if typ == models.IntegrationTelegram {
		tok := testBotToken
		in.BotToken = &tok
	}
	out, secret, err := s.CreateIntegration(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	return out, secret
}

func TestIntegrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Helper", Model: "local"}})

		t.Run("NoBoxStoresNothing", func(t *testing.T) {
			tok := testBotToken
			_, _, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationTelegram, BotID: &bot.ID}, BotToken: &tok})
			wantCode(t, err, models.CodeUnavailable)
			if n := count(t, s, "integrations", ""); n != 0 {
				t.Errorf("%d integrations stored without encryption", n)
			}
		})
		useBox(t, s, 7)

		t.Run("ErrFields", func(t *testing.T) {
			bad := "not a token"
			_, _, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationTelegram,
				SessionDuration: -1, Telegram: models.TelegramSettings{AllowFrom: "@ann, bob!"}}, BotToken: &bad})
			wantFieldErrors(t, err, "botId", "botToken", "sessionDuration", "allowFrom")
			_, _, err = s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook, BotID: &bot.ID,
				Webhook: models.WebhookSettings{CallbackURL: "ftp://example.com/x"}}})
			wantFieldErrors(t, err, "callbackUrl")
			_, _, err = s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationTelegram, BotID: &bot.ID}})
			wantFieldErrors(t, err, "botToken")
			unknown := models.NewID()
			_, _, err = s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook, BotID: &unknown}})
			wantFieldErrors(t, err, "botId")
			if n := count(t, s, "integrations", ""); n != 0 {
				t.Errorf("%d integrations stored from bad input", n)
			}
		})

		t.Run("TelegramTokenSealed", func(t *testing.T) {
			tok := testBotToken
			it, secret, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationTelegram,
				Name: " Support ", BotID: &bot.ID, SessionDuration: 60000, Telegram: models.TelegramSettings{AllowFrom: "@ann\n42"}}, BotToken: &tok})
			if err != nil {
				t.Fatal(err)
			}
			if secret != "" || it.Name != "Support" {
				t.Errorf("secret %q, name %q", secret, it.Name)
			}
			wantNoSecretInRow(t, s, "integrations", it.ID, testBotToken)
			sec, err := s.IntegrationSecrets(ctx, it.ID)
			if err != nil || sec.BotToken != testBotToken {
				t.Fatalf("IntegrationSecrets = %+v, %v", sec, err)
			}
			setup, err := s.SaveTelegramSetup(ctx, it.ID, store.TelegramSetup{Username: "parley_bot", UserID: 99, WebhookURL: "https://x/channels/telegram/" + it.ID, SecretToken: "st-123"})
			if err != nil || setup.Telegram.Username != "parley_bot" || setup.Telegram.SetupAt == nil {
				t.Fatalf("SaveTelegramSetup = %+v, %v", setup, err)
			}
			wantNoSecretInRow(t, s, "integrations", it.ID, "st-123")
			// An update without a token keeps the token and the setup.
			setup.Name, setup.Telegram.Stream = "Renamed", true
			up, err := s.UpdateIntegration(ctx, store.IntegrationInput{Integration: *setup})
			if err != nil {
				t.Fatal(err)
			}
			if up.Telegram.Username != "parley_bot" || !up.Telegram.Stream || up.Name != "Renamed" {
				t.Errorf("after update: %+v", up.Telegram)
			}
			if sec, _ := s.IntegrationSecrets(ctx, it.ID); sec.BotToken != testBotToken || sec.SecretToken != "st-123" {
				t.Errorf("secrets after update: %+v", sec)
			}
			// A new token names another bot: the setup is cleared.
			other := "987654321:BBE_other-token-0123456789abcdefgh"
			up, err = s.UpdateIntegration(ctx, store.IntegrationInput{Integration: *up, BotToken: &other})
			if err != nil || up.Telegram.Username != "" || up.Telegram.SetupAt != nil {
				t.Fatalf("after a new token: %+v, %v", up, err)
			}
			if sec, _ := s.IntegrationSecrets(ctx, it.ID); sec.BotToken != other || sec.SecretToken != "" {
				t.Errorf("secrets after a new token: %+v", sec)
			}
			up.Type = models.IntegrationWebhook
			_, err = s.UpdateIntegration(ctx, store.IntegrationInput{Integration: *up})
			wantFieldErrors(t, err, "type")
		})

		t.Run("WebhookSigningSecretShownOnce", func(t *testing.T) {
			it, secret, err := s.CreateIntegration(ctx, store.IntegrationInput{Integration: models.Integration{Type: models.IntegrationWebhook, BotID: &bot.ID,
				Webhook: models.WebhookSettings{CallbackURL: "https://example.com/hook"}}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, store.SigningSecretPrefix) || len(secret) < 40 {
				t.Fatalf("signing secret %q", secret)
			}
			wantNoSecretInRow(t, s, "integrations", it.ID, secret)
			if sec, _ := s.IntegrationSecrets(ctx, it.ID); sec.SigningSecret != secret {
				t.Errorf("IntegrationSecrets.SigningSecret differs")
			}
			next, err := s.RotateSigningSecret(ctx, it.ID)
			if err != nil || next == secret {
				t.Fatalf("RotateSigningSecret = %q, %v", next, err)
			}
			if sec, _ := s.IntegrationSecrets(ctx, it.ID); sec.SigningSecret != next {
				t.Errorf("the rotated secret is not the one in use")
			}
			list, _, err := s.FindIntegrations(ctx, models.IntegrationFilter{Type: models.IntegrationWebhook})
			if err != nil || len(list) != 1 || list[0].Bot == nil || list[0].Bot.Name != "Helper" {
				t.Errorf("FindIntegrations = %+v, %v", list, err)
			}
		})

		t.Run("PauseOnlyExtends", func(t *testing.T) {
			it, _ := mustIntegration(t, s, models.IntegrationWebhook)
			later := time.Now().UTC().Add(time.Minute).Truncate(time.Microsecond)
			if err := s.PauseIntegration(ctx, it.ID, later); err != nil {
				t.Fatal(err)
			}
			if err := s.PauseIntegration(ctx, it.ID, later.Add(-30*time.Second)); err != nil {
				t.Fatal(err)
			}
			got, _ := s.FindIntegration(ctx, it.ID)
			if got.PausedUntil == nil || !got.PausedUntil.Equal(later) {
				t.Errorf("PausedUntil = %v, want %v", got.PausedUntil, later)
			}
		})
	})
}

func TestEnsureContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		t.Run("ConcurrentMakeOne", func(t *testing.T) {
			const n = 20
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				ids     = map[string]bool{}
				created int
				errs    []error
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, made, err := s.EnsureContact(ctx, models.Contact{Fingerprint: "telegram:42", Name: fmt.Sprintf("Ann %d", i)})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					ids[c.ID] = true
					if made {
						created++
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(ids) != 1 || created != 1 || count(t, s, "contacts", "") != 1 {
				t.Errorf("%d ids, %d created, %d rows: want one contact", len(ids), created, count(t, s, "contacts", ""))
			}
		})
		t.Run("SeenAgainTakesNewFields", func(t *testing.T) {
			first, _, err := s.EnsureContact(ctx, models.Contact{Fingerprint: "webhook:u1", Name: "Bob", Email: "bob@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			again, made, err := s.EnsureContact(ctx, models.Contact{Fingerprint: "webhook:u1", Nick: "bobby"})
			if err != nil || made || again.ID != first.ID {
				t.Fatalf("again = %+v, %v, %v", again, made, err)
			}
			if again.Name != "Bob" || again.Nick != "bobby" || again.Email != "bob@example.com" {
				t.Errorf("fields after a second ensure: %+v", again)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, _, err := s.EnsureContact(ctx, models.Contact{Name: "No fingerprint", Email: "nope"})
			wantFieldErrors(t, err, "fingerprint", "email")
			if n := count(t, s, "contacts", "name = ?", "No fingerprint"); n != 0 {
				t.Errorf("stored %d contacts from bad input", n)
			}
		})
	})
}

func TestGetOrCreateConversation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		useBox(t, s, 3)
		it, _ := mustIntegration(t, s, models.IntegrationWebhook, func(it *models.Integration) { it.SessionDuration = (30 * time.Minute).Milliseconds() })

		t.Run("ConcurrentFirstMessagesMakeOne", func(t *testing.T) {
			const n = 100
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				convs   = map[string]bool{}
				created int
				errs    []error
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tc, err := s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: "chat-1", Name: "Webhook: chat-1"})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					convs[tc.Conversation.ID] = true
					if tc.Created {
						created++
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 {
				t.Fatalf("%d errors, the first: %v", len(errs), errs[0])
			}
			if len(convs) != 1 || created != 1 {
				t.Errorf("%d conversations, %d created: want one", len(convs), created)
			}
			if got := count(t, s, "conversations", "integration_id = ?", it.ID); got != 1 {
				t.Errorf("%d conversations stored, want 1", got)
			}
			if got := count(t, s, "channel_threads", "integration_id = ?", it.ID); got != 1 {
				t.Errorf("%d threads stored, want 1", got)
			}
		})

		t.Run("RecordsChannelAndContact", func(t *testing.T) {
			c, _, err := s.EnsureContact(ctx, models.Contact{Fingerprint: "webhook:ann"})
			if err != nil {
				t.Fatal(err)
			}
			tc, err := s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: "chat-2", ContactID: &c.ID})
			if err != nil {
				t.Fatal(err)
			}
			conv, err := s.FindConversation(ctx, tc.Conversation.ID)
			if err != nil {
				t.Fatal(err)
			}
			if models.Deref(conv.IntegrationID) != it.ID || models.Deref(conv.ContactID) != c.ID || models.Deref(conv.ChannelThreadID) != tc.Thread.ID || models.Deref(conv.BotID) != models.Deref(it.BotID) {
				t.Errorf("conversation = %+v", conv)
			}
			for _, f := range []models.ConversationFilter{{IntegrationID: it.ID}, {ContactID: c.ID}, {ThreadID: tc.Thread.ID}} {
				list, _, err := s.FindConversations(ctx, f)
				if err != nil || len(list) == 0 {
					t.Errorf("FindConversations(%+v) = %d, %v", f, len(list), err)
				}
				for _, cv := range list {
					if (f.ContactID != "" && models.Deref(cv.ContactID) != c.ID) || (f.IntegrationID != "" && models.Deref(cv.IntegrationID) != it.ID) {
						t.Errorf("FindConversations(%+v) lists %+v", f, cv)
					}
				}
			}
			// Editing the conversation (the API's update) keeps its channel.
			conv.Name = "Renamed"
			conv.IntegrationID, conv.ChannelThreadID = nil, nil
			if _, err := s.UpdateConversation(ctx, *conv); err != nil {
				t.Fatal(err)
			}
			again, _ := s.FindConversation(ctx, conv.ID)
			if models.Deref(again.IntegrationID) != it.ID || models.Deref(again.ChannelThreadID) != tc.Thread.ID {
				t.Errorf("after update: integration %v, thread %v", again.IntegrationID, again.ChannelThreadID)
			}
		})

		t.Run("SessionDurationRollover", func(t *testing.T) {
			t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
			at := func(d time.Duration) store.ThreadInput {
				return store.ThreadInput{IntegrationID: it.ID, ExternalKey: "chat-3", At: t0.Add(d)}
			}
			first, err := s.GetOrCreateConversation(ctx, at(0))
			if err != nil {
				t.Fatal(err)
			}
			same, err := s.GetOrCreateConversation(ctx, at(29*time.Minute))
			if err != nil || same.Conversation.ID != first.Conversation.ID || same.Created {
				t.Fatalf("within the session: %+v, %v", same, err)
			}
			// 29 + 30 minutes: still within 30 minutes of the last message.
			same, err = s.GetOrCreateConversation(ctx, at(58*time.Minute))
			if err != nil || same.Conversation.ID != first.Conversation.ID {
				t.Fatalf("the session counts from the last message: %+v, %v", same, err)
			}
			next, err := s.GetOrCreateConversation(ctx, at(58*time.Minute+30*time.Minute+time.Second))
			if err != nil || next.Conversation.ID == first.Conversation.ID || !next.Created {
				t.Fatalf("after the session: %+v, %v", next, err)
			}
			fresh, err := s.CreateChannelConversation(ctx, at(90*time.Minute))
			if err != nil || fresh.Conversation.ID == next.Conversation.ID || !fresh.Created {
				t.Fatalf("CreateChannelConversation: %+v, %v", fresh, err)
			}
			cur, err := s.GetOrCreateConversation(ctx, at(91*time.Minute))
			if err != nil || cur.Conversation.ID != fresh.Conversation.ID {
				t.Fatalf("after /new the thread continues the new conversation: %+v, %v", cur, err)
			}
			// The history: every conversation of the thread stays readable.
			history, _, err := s.FindConversations(ctx, models.ConversationFilter{ThreadID: first.Thread.ID, Page: models.Page{Order: models.OrderAsc}})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range history {
				ids = append(ids, c.ID)
			}
			want := []string{first.Conversation.ID, next.Conversation.ID, fresh.Conversation.ID}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Errorf("thread history = %v, want %v", ids, want)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: " "})
			wantFieldErrors(t, err, "externalKey")
			_, err = s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: strings.Repeat("k", 201)})
			wantFieldErrors(t, err, "externalKey")
			_, err = s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: models.NewID(), ExternalKey: "x"})
			wantCode(t, err, models.CodeNotFound)
		})
	})
}

func textEvent(it *models.Integration, externalID, key, text string) models.InboundEvent {
	return models.InboundEvent{IntegrationID: it.ID, ExternalID: externalID, ExternalKey: key, Kind: models.EventKindText,
		Text: text, ChatID: key, Payload: `{"text":"` + text + `"}`}
}

func TestReceiveEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		useBox(t, s, 3)
		it, _ := mustIntegration(t, s, models.IntegrationWebhook)

		t.Run("NoQueueStoresNothing", func(t *testing.T) {
			_, _, err := s.ReceiveEvent(ctx, textEvent(it, "e0", "c", "hi"), time.Time{})
			wantCode(t, err, models.CodeUnavailable)
			if n := count(t, s, "inbound_events", ""); n != 0 {
				t.Errorf("%d events stored without a queue", n)
			}
		})
		q := useJobs(s)

		t.Run("DuplicatesCountedProcessedOnce", func(t *testing.T) {
			var first *models.InboundEvent
			for i := range 3 {
				ev, dup, err := s.ReceiveEvent(ctx, textEvent(it, "e1", "c", "hello"), time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if dup != (i > 0) {
					t.Errorf("delivery %d: duplicate = %v", i+1, dup)
				}
				if first == nil {
					first = ev
				} else if ev.ID != first.ID || ev.Duplicates != i {
					t.Errorf("delivery %d: %s with %d duplicates", i+1, ev.ID, ev.Duplicates)
				}
			}
			if got := jobsFor(t, s, store.JobEvent, first.ID); got != 1 {
				t.Errorf("%d jobs for the event, want 1", got)
			}
			if got := count(t, s, "inbound_events", "external_id = ?", "e1"); got != 1 {
				t.Errorf("%d events stored, want 1", got)
			}
		})

		t.Run("IgnoredQueuesNothing", func(t *testing.T) {
			ev, _, err := s.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalID: "e2", Kind: models.EventKindIgnored,
				Reason: "an edited message", Payload: "{}"}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if ev.Status != models.EventIgnored || ev.Reason != "an edited message" || jobsFor(t, s, store.JobEvent, ev.ID) != 0 {
				t.Errorf("ignored event = %+v, %d jobs", ev, jobsFor(t, s, store.JobEvent, ev.ID))
			}
		})

		t.Run("PayloadBounded", func(t *testing.T) {
			big := textEvent(it, "e3", "c", "big")
			big.Payload = strings.Repeat("é", models.MaxEventPayload) // two bytes each
			ev, _, err := s.ReceiveEvent(ctx, big, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := s.FindEvent(ctx, ev.ID)
			if !stored.PayloadTruncated || stored.PayloadBytes != 2*models.MaxEventPayload || len(stored.Payload) > models.MaxEventPayload {
				t.Errorf("payload %d bytes kept of %d, truncated %v", len(stored.Payload), stored.PayloadBytes, stored.PayloadTruncated)
			}
		})

		t.Run("QueueFailureStoresNothing", func(t *testing.T) {
			q.mu.Lock()
			q.fail = errors.New("queue down")
			q.mu.Unlock()
			_, _, err := s.ReceiveEvent(ctx, textEvent(it, "e4", "c", "lost?"), time.Time{})
			if err == nil {
				t.Fatal("ReceiveEvent succeeded with a failing queue")
			}
			if n := count(t, s, "inbound_events", "external_id = ?", "e4"); n != 0 {
				t.Errorf("the event was stored without its job")
			}
			// Delivered again, it is recorded as new.
			ev, dup, err := s.ReceiveEvent(ctx, textEvent(it, "e4", "c", "lost?"), time.Time{})
			if err != nil || dup || jobsFor(t, s, store.JobEvent, ev.ID) != 1 {
				t.Errorf("after the queue is back: %v, dup %v", err, dup)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, _, err := s.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, Kind: models.EventKindText, Text: "x"}, time.Time{})
			wantFieldErrors(t, err, "externalKey")
			_, _, err = s.ReceiveEvent(ctx, models.InboundEvent{IntegrationID: it.ID, ExternalKey: "c", Kind: "sticker"}, time.Time{})
			wantFieldErrors(t, err, "externalId", "kind")
			_, _, err = s.ReceiveEvent(ctx, textEvent(&models.Integration{ID: models.NewID()}, "e5", "c", "x"), time.Time{})
			wantCode(t, err, models.CodeNotFound)
		})
	})
}

func TestEventStepsAndDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		useBox(t, s, 3)
		useJobs(s)
		it, _ := mustIntegration(t, s, models.IntegrationWebhook)
		recv := func(id string) *models.InboundEvent {
			t.Helper()
			ev, _, err := s.ReceiveEvent(ctx, textEvent(it, id, "thread", "q "+id), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		a, b := recv("a"), recv("b")

		t.Run("UnpostedInOrder", func(t *testing.T) {
			evs, err := s.UnpostedEvents(ctx, it.ID, "thread", b.ID, 10)
			if err != nil || len(evs) != 2 || evs[0].ID != a.ID || evs[1].ID != b.ID {
				t.Fatalf("UnpostedEvents = %v, %v", evs, err)
			}
			evs, _ = s.UnpostedEvents(ctx, it.ID, "thread", a.ID, 10)
			if len(evs) != 1 || evs[0].ID != a.ID {
				t.Errorf("up to a: %v", evs)
			}
		})

		tc, err := s.GetOrCreateConversation(ctx, store.ThreadInput{IntegrationID: it.ID, ExternalKey: "thread"})
		if err != nil {
			t.Fatal(err)
		}
		var da, db *models.OutboundDelivery
		t.Run("WaitingDeliveryKeepsTheThreadOrder", func(t *testing.T) {
			var err error
			for _, ev := range []*models.InboundEvent{a, b} {
				u := mustMessage(t, s, tc.Conversation.ID, models.MessageUser, ev.Text)
				_, d, err2 := s.RecordEventStep(ctx, ev.ID, store.EventStep{ConversationID: tc.Conversation.ID, UserMessageID: u.ID,
					Reply: &store.Reply{Kind: models.DeliveryReply, Waiting: true}})
				if err2 != nil || d == nil || d.Status != models.DeliveryWaiting {
					t.Fatalf("waiting delivery: %+v, %v", d, err2)
				}
				if ev == a {
					da = d
				} else {
					db = d
				}
			}
			evs, _ := s.UnpostedEvents(ctx, it.ID, "thread", b.ID, 10)
			if len(evs) != 0 {
				t.Errorf("posted events are still unposted: %v", evs)
			}
			// b's answer is ready first: its delivery waits behind a's.
			_, d, err := s.RecordEventStep(ctx, b.ID, store.EventStep{Status: models.EventProcessed, Reply: &store.Reply{Kind: models.DeliveryReply, Text: "answer b"}})
			if err != nil || d.ID != db.ID || d.Status != models.DeliveryPending || jobsFor(t, s, store.JobDelivery, d.ID) != 1 {
				t.Fatalf("b ready: %+v, %v", d, err)
			}
			open, err := s.OpenDeliveries(ctx, it.ID, "thread", 10)
			if err != nil || len(open) != 2 || open[0].ID != da.ID || open[0].Status != models.DeliveryWaiting || open[1].ID != db.ID {
				t.Errorf("OpenDeliveries = %+v, %v", open, err)
			}
		})

		t.Run("FinishedOnce", func(t *testing.T) {
			for i := range 2 {
				ev, d, err := s.RecordEventStep(ctx, a.ID, store.EventStep{Status: models.EventProcessed, BotMessageID: models.NewID(),
					Reply: &store.Reply{Kind: models.DeliveryReply, Text: fmt.Sprintf("answer a %d", i)}})
				if err != nil {
					t.Fatal(err)
				}
				if ev.Status != models.EventProcessed || d.ID != da.ID || d.Text != "answer a 0" {
					t.Errorf("finish %d: event %s, delivery %s %q", i+1, ev.Status, d.ID, d.Text)
				}
			}
			if got := count(t, s, "outbound_deliveries", "event_id = ?", a.ID); got != 1 {
				t.Errorf("%d deliveries for one event", got)
			}
			if got := jobsFor(t, s, store.JobDelivery, da.ID); got != 1 {
				t.Errorf("%d delivery jobs, want 1", got)
			}
		})

		t.Run("Attempts", func(t *testing.T) {
			retry := time.Now().UTC().Add(time.Minute)
			d, err := s.RecordAttempt(ctx, da.ID, 2, models.DeliveryAttempt{Part: 1, Request: "POST callback", StatusCode: 200, Outcome: models.AttemptSent})
			if err != nil || d.PartsSent != 1 || d.Status != models.DeliveryPending {
				t.Fatalf("part 1 sent: %+v, %v", d, err)
			}
			d, err = s.RecordAttempt(ctx, da.ID, 2, models.DeliveryAttempt{Part: 2, StatusCode: 503, Response: strings.Repeat("x", 5000),
				Error: "service unavailable", Outcome: models.AttemptRetry, RetryAt: &retry})
			if err != nil || d.NextAttemptAt == nil || d.LastError != "service unavailable" {
				t.Fatalf("retry: %+v, %v", d, err)
			}
			d, err = s.RecordAttempt(ctx, da.ID, 2, models.DeliveryAttempt{Part: 2, StatusCode: 200, Outcome: models.AttemptSent})
			if err != nil || d.Status != models.DeliveryDelivered || d.DeliveredAt == nil || d.Attempts != 3 {
				t.Fatalf("delivered: %+v, %v", d, err)
			}
			_, err = s.RecordAttempt(ctx, da.ID, 2, models.DeliveryAttempt{Part: 2, Outcome: models.AttemptSent})
			wantCode(t, err, models.CodeConflict)
			full, err := s.FindDelivery(ctx, da.ID)
			if err != nil || len(full.AttemptLog) != 3 || full.AttemptLog[1].StatusCode != 503 || len(full.AttemptLog[1].Response) > models.MaxResponseExcerpt+4 {
				t.Fatalf("attempt log: %+v, %v", full, err)
			}
			d, err = s.RecordAttempt(ctx, db.ID, 1, models.DeliveryAttempt{Part: 1, StatusCode: 400, Error: "bad request", Outcome: models.AttemptFailed})
			if err != nil || d.Status != models.DeliveryFailed || d.LastError != "bad request" {
				t.Fatalf("failed: %+v, %v", d, err)
			}
			if open, _ := s.OpenDeliveries(ctx, it.ID, "thread", 10); len(open) != 0 {
				t.Errorf("open deliveries after both ended: %v", open)
			}
		})

		t.Run("Returned", func(t *testing.T) {
			c := recv("c")
			_, d, err := s.RecordEventStep(ctx, c.ID, store.EventStep{Status: models.EventProcessed, Reply: &store.Reply{Kind: models.DeliveryReply, Text: "here", Returned: true}})
			if err != nil || d.Status != models.DeliveryDelivered || d.Mode != models.DeliveryResponse || jobsFor(t, s, store.JobDelivery, d.ID) != 0 {
				t.Errorf("returned reply: %+v, %v", d, err)
			}
		})
	})
}
