package store_test

import (
	"sync"
	"testing"

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
