package engine_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"parley/app/engine"
	"parley/app/live"
	"parley/app/provider"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// setFlags switches the fixture's bot's privacy and moderation flags.
func (f *fixture) setFlags(t *testing.T, privacy, moderation bool) {
	t.Helper()
	b := *f.bot
	b.Privacy, b.Moderation = privacy, moderation
	bot, err := f.s.UpdateBot(context.Background(), store.BotInput{Bot: b})
	if err != nil {
		t.Fatal(err)
	}
	f.bot = bot
}

// promptText is everything a model request carried, for "the model never saw X".
func promptText(reqs []provider.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		for _, m := range r.Messages {
			b.WriteString(m.Content + "\n")
		}
	}
	return b.String()
}

// keptPrompt is the prompt stored with a turn, as one text.
func keptPrompt(t *testing.T, s *store.Store, convID, turnID string) string {
	t.Helper()
	raw, err := s.FindTurnPrompt(context.Background(), convID, turnID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.DecodePrompt(raw)
	if err != nil || p == nil {
		t.Fatalf("kept prompt: %v, %v", p, err)
	}
	var b strings.Builder
	for _, m := range p.Messages {
		b.WriteString(m.Content + "\n")
	}
	return b.String()
}

func TestPrivacy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()

		t.Run("RedactsEachFormat", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.setFlags(t, true, false)
			for _, c := range []struct {
				name, text, secret, want string
				count                    int
			}{
				{"Email", "My email is jane.doe@example.com, please reply.", "jane.doe@example.com", "My email is [email], please reply.", 1},
				{"PhoneUK", "Call me on +44 20 7946 0958 tomorrow.", "7946 0958", "Call me on [phone] tomorrow.", 1},
				{"PhoneUS", "My cell is (212) 555-0123.", "555-0123", "My cell is [phone].", 1},
				{"PhoneGermany", "Festnetz 0049 30 12345678 oder +49 30 12345678", "12345678", "Festnetz [phone] oder [phone]", 2},
				{"PhoneDots", "ring 212.555.0123", "212.555.0123", "ring [phone]", 1},
				{"Card", "Charge 4111 1111 1111 1111 please", "4111 1111 1111 1111", "Charge [card] please", 1},
				{"CardAmexDashes", "amex 3782-822463-10005", "822463", "amex [card]", 1},
				{"IBANSpaced", "IBAN DE89 3704 0044 0532 0130 00 for the refund", "3704 0044", "IBAN [iban] for the refund", 1},
				{"IBANCompact", "send it to GB29NWBK60161331926819", "GB29NWBK60161331926819", "send it to [iban]", 1},
				{"Mixed", "jane@example.com / +44 20 7946 0958 / 5555-5555-5555-4444", "jane@example.com", "[email] / [phone] / [card]", 3},
				{"NothingPersonal", "Order 12345 of 2024-01-15 at 14:30 cost $1,299.99 with v2.14.0", "", "Order 12345 of 2024-01-15 at 14:30 cost $1,299.99 with v2.14.0", 0},
			} {
				t.Run(c.name, func(t *testing.T) {
					res, err := f.e.Turn(ctx, f.conv.ID, c.text, nil)
					if err != nil || res.Err != nil {
						t.Fatalf("Turn: %v / %v", err, res.Err)
					}
					if res.User.Text != c.want {
						t.Errorf("stored user text = %q, want %q", res.User.Text, c.want)
					}
					msgs, err := s.FindMessagesByID(ctx, f.conv.ID, res.User.ID)
					if err != nil || msgs[res.User.ID] == nil || msgs[res.User.ID].Text != c.want {
						t.Errorf("message read back = %+v (%v), want %q", msgs[res.User.ID], err, c.want)
					}
					reqs := f.p.requests()
					last := reqs[len(reqs)-1].Messages
					if got := last[len(last)-1].Content; got != c.want {
						t.Errorf("the model got %q, want %q", got, c.want)
					}
					if c.secret != "" {
						if strings.Contains(promptText(reqs), c.secret) {
							t.Errorf("a model request contains %q", c.secret)
						}
						if strings.Contains(keptPrompt(t, s, f.conv.ID, res.Turn.ID), c.secret) || strings.Contains(res.Bot.Text, c.secret) {
							t.Errorf("the kept prompt or the answer contains %q", c.secret)
						}
					}
					tr, err := s.FindTurn(ctx, res.Turn.ID)
					if err != nil {
						t.Fatal(err)
					}
					if tr.Redactions != c.count {
						t.Errorf("turn redactions = %d, want %d", tr.Redactions, c.count)
					}
				})
			}
		})

		t.Run("OffStoresAsWritten", func(t *testing.T) {
			f := newFixture(t, s, echo)
			text := "I'm jane@example.com, +44 20 7946 0958, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00"
			res, err := f.e.Turn(ctx, f.conv.ID, text, nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.User.Text != text || res.Turn.Redactions != 0 {
				t.Errorf("user text = %q, redactions %d; want it stored as written", res.User.Text, res.Turn.Redactions)
			}
			if !strings.Contains(promptText(f.p.requests()), "jane@example.com") {
				t.Errorf("with privacy off the model gets the message as written")
			}
		})

		t.Run("InlineConversation", func(t *testing.T) {
			f := newFixture(t, s, echo)
			conv, err := s.CreateConversation(ctx, models.Conversation{Model: "scripted", Backstory: "Inline.", Privacy: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.e.Turn(ctx, conv.ID, "reach me at bob@example.org", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.User.Text != "reach me at [email]" || res.Turn.Redactions != 1 {
				t.Errorf("user text = %q, redactions %d", res.User.Text, res.Turn.Redactions)
			}
		})

		t.Run("BotFlagWinsOverConversation", func(t *testing.T) {
			f := newFixture(t, s, echo)
			conv, err := s.CreateConversation(ctx, models.Conversation{BotID: &f.bot.ID, Privacy: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.e.Turn(ctx, conv.ID, "bob@example.org", nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.User.Text != "bob@example.org" {
				t.Errorf("user text = %q: the bot's privacy is off", res.User.Text)
			}
		})

		t.Run("SendThenReceiveKeepsTheCount", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.setFlags(t, true, false)
			p, err := f.e.Post(ctx, f.conv.ID, engine.Input{Text: "a@b.com and c@d.org"}, false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Turn != nil || p.Message.Text != "[email] and [email]" {
				t.Fatalf("sent = %+v / %+v", p.Message, p.Turn)
			}
			res, err := f.e.Reply(ctx, f.conv.ID, nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if tr, _ := s.FindTurn(ctx, res.Turn.ID); tr.Redactions != 2 {
				t.Errorf("received turn redactions = %d, want 2", tr.Redactions)
			}
			res, err = f.e.Retry(ctx, f.conv.ID, nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if tr, _ := s.FindTurn(ctx, res.Turn.ID); tr.Redactions != 2 {
				t.Errorf("retried turn redactions = %d, want 2", tr.Redactions)
			}
		})

		t.Run("Stateless", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.setFlags(t, true, false)
			res, err := f.e.Complete(ctx, engine.Stateless{BotID: f.bot.ID, Messages: []models.Message{
				{Type: models.MessageUser, Text: "I'm jane@example.com"},
				{Type: models.MessageBot, Text: "Hello."},
				{Type: models.MessageUser, Text: "call +44 20 7946 0958"},
			}}, nil)
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			got := promptText(f.p.requests())
			if strings.Contains(got, "jane@example.com") || strings.Contains(got, "7946") || !strings.Contains(got, "call [phone]") {
				t.Errorf("stateless prompt = %q", got)
			}
			if res.Turn.Redactions != 1 {
				t.Errorf("redactions = %d, want 1 (the message answered)", res.Turn.Redactions)
			}
		})

		t.Run("MessageWrittenDirectly", func(t *testing.T) {
			f := newFixture(t, s, echo)
			f.setFlags(t, true, false)
			svc, err := engine.NewService(engine.ServiceOptions{Engine: f.e, Store: s, Broker: nopBroker{}, Logger: discard(), TurnTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			m, err := svc.CreateMessage(ctx, models.Message{ConversationID: f.conv.ID, Type: models.MessageUser, Text: "mail x@y.com"})
			if err != nil || m.Text != "mail [email]" {
				t.Fatalf("created = %+v, %v", m, err)
			}
			m.Text = "now call 020 7946 0958"
			if m, err = svc.UpdateMessage(ctx, *m); err != nil || m.Text != "now call [phone]" {
				t.Errorf("updated = %+v, %v", m, err)
			}
			b, err := svc.CreateMessage(ctx, models.Message{ConversationID: f.conv.ID, Type: models.MessageInstruction, Text: "Escalate to ops@example.com"})
			if err != nil || b.Text != "Escalate to ops@example.com" {
				t.Errorf("an instruction is the operator's: stored as written, got %+v, %v", b, err)
			}
		})
	})
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// nopBroker publishes nowhere.
type nopBroker struct{}

func (nopBroker) Publish(live.Event) {}
