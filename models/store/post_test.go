package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestPostUserMessage: a message and the turn that answers it are stored
// together; an unknown conversation stores nothing; the same external id
// (a retried delivery), even sent concurrently, stores one message with one
// turn and returns them again.
func TestPostUserMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		conv := mustConversation(t, s, models.Conversation{})

		t.Run("OK", func(t *testing.T) {
			m, tr, created, err := s.PostUserMessage(ctx, models.Message{ConversationID: conv.ID, Text: "hello", Meta: models.Meta{"k": "v"}}, true, 0)
			if err != nil || !created || tr == nil {
				t.Fatalf("PostUserMessage = %v, %v, %v", tr, created, err)
			}
			got, err := s.FindMessage(ctx, conv.ID, m.ID)
			if err != nil || got.Type != models.MessageUser || got.Text != "hello" || got.Meta["k"] != "v" {
				t.Errorf("stored message = %+v (%v)", got, err)
			}
			st, err := s.FindTurn(ctx, tr.ID)
			if err != nil || st.Status != models.TurnQueued || st.UserMessageID == nil || *st.UserMessageID != m.ID || !st.QueuedAt.Equal(tr.QueuedAt) {
				t.Errorf("stored turn = %+v (%v), want queued for %s", st, err, m.ID)
			}
		})

		t.Run("ErrUnknownConversation", func(t *testing.T) {
			for _, queue := range []bool{true, false} {
				_, _, _, err := s.PostUserMessage(ctx, models.Message{ConversationID: models.NewID(), Text: "hi"}, queue, 0)
				if models.ErrorCode(err) != models.CodeNotFound {
					t.Errorf("queue %v: err = %v, want not_found", queue, err)
				}
			}
			var n int64
			s.DB().Model(&models.Message{}).Where("text = ?", "hi").Count(&n)
			if n != 0 {
				t.Errorf("%d messages stored for an unknown conversation", n)
			}
		})

		t.Run("SameExternalIDConcurrently", func(t *testing.T) {
			key := "delivery-" + models.NewID()
			var wg sync.WaitGroup
			type out struct {
				msg     *models.Message
				turn    *models.Turn
				created bool
				err     error
			}
			outs := make([]out, 8)
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, tr, c, err := s.PostUserMessage(ctx, models.Message{ConversationID: conv.ID, Text: "once", ExternalID: &key}, true, 0)
					outs[i] = out{m, tr, c, err}
				}()
			}
			wg.Wait()
			created := 0
			for _, o := range outs {
				if o.err != nil {
					t.Fatalf("PostUserMessage: %v", o.err)
				}
				if o.created {
					created++
				}
				if o.msg.ID != outs[0].msg.ID || o.turn == nil || o.turn.ID != outs[0].turn.ID {
					t.Errorf("a retry got message %s turn %v, want %s and one turn", o.msg.ID, o.turn, outs[0].msg.ID)
				}
			}
			if created != 1 {
				t.Errorf("%d calls created the message, want 1", created)
			}
			var msgs, turns int64
			s.DB().Model(&models.Message{}).Where("conversation_id = ? AND external_id = ?", conv.ID, key).Count(&msgs)
			s.DB().Model(&models.Turn{}).Where("user_message_id = ?", outs[0].msg.ID).Count(&turns)
			if msgs != 1 || turns != 1 {
				t.Errorf("stored %d messages and %d turns, want 1 and 1", msgs, turns)
			}
		})
	})
}

// TestStartNextTurn: the lock holder's one-statement start takes a queued
// turn only when no other turn runs and none answers before it; otherwise it
// writes nothing. FinishTurn then stores the turn's context, records and
// answer together, and the next turn may start.
func TestStartNextTurn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		conv := mustConversation(t, s, models.Conversation{})
		post := func(text string) *models.Turn {
			_, tr, _, err := s.PostUserMessage(ctx, models.Message{ConversationID: conv.ID, Text: text}, true, 0)
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		first, second := post("first"), post("second")
		status := func(tr *models.Turn) string {
			got, err := s.FindTurn(ctx, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Status
		}
		if err := s.StartNextTurn(ctx, second); !errors.Is(err, store.ErrNotNext) {
			t.Fatalf("second before the first: err = %v, want ErrNotNext", err)
		}
		if got := status(second); got != models.TurnQueued {
			t.Errorf("refused start wrote status %q", got)
		}
		if err := s.StartNextTurn(ctx, first); err != nil || first.Status != models.TurnRunning || first.StartedAt == nil {
			t.Fatalf("first: err = %v, turn %+v", err, first)
		}
		if err := s.StartNextTurn(ctx, first); !errors.Is(err, store.ErrNotNext) {
			t.Errorf("started twice: err = %v", err)
		}
		if err := s.StartNextTurn(ctx, second); !errors.Is(err, store.ErrNotNext) {
			t.Errorf("second while the first runs: err = %v, want ErrNotNext", err)
		}

		rec := models.TurnRecord{RecordID: models.NewID(), DatasetID: models.NewID(), Source: "https://example.com/a", Score: 0.5}
		first.Records = []models.TurnRecord{rec}
		first.HeldContext = &models.Message{ID: models.NewID(), Type: models.MessageContext, Text: "context", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		first.Status, first.Model, first.OutputTokens = models.TurnDone, "local", 7
		bot, err := s.FinishTurn(ctx, first, models.Message{Type: models.MessageBot, Text: "answer"})
		if err != nil || bot.Type != models.MessageBot || first.HeldContext != nil {
			t.Fatalf("FinishTurn = %+v, %v", bot, err)
		}
		got, err := s.FindTurn(ctx, first.ID)
		if err != nil || got.Status != models.TurnDone || models.Deref(got.BotMessageID) != bot.ID || got.ContextMessageID == nil ||
			got.OutputTokens != 7 || got.FinishedAt == nil || len(got.Records) != 1 || got.Records[0].Source != rec.Source || got.Records[0].Rank != 1 {
			t.Fatalf("finished turn = %+v (%v)", got, err)
		}
		msgs, err := s.FindMessagesByID(ctx, conv.ID, *got.ContextMessageID, bot.ID)
		if err != nil || msgs[*got.ContextMessageID] == nil || msgs[*got.ContextMessageID].Text != "context" || msgs[bot.ID] == nil || msgs[bot.ID].Text != "answer" {
			t.Fatalf("stored messages = %v (%v)", msgs, err)
		}
		if err := s.StartNextTurn(ctx, second); err != nil {
			t.Errorf("second after the first finished: err = %v", err)
		}
	})
}
