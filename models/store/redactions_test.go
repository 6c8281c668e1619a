package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestPostUserMessageKeepsRedactions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		conv := mustConversation(t, s, models.Conversation{Privacy: true})
		other := mustConversation(t, s, models.Conversation{})
		post := func(convID, text string, queue bool, n int) (*models.Message, *models.Turn) {
			t.Helper()
			m, tr, created, err := s.PostUserMessage(ctx, models.Message{ConversationID: convID, Text: text}, queue, n)
			if err != nil || !created {
				t.Fatalf("PostUserMessage: %v (created %v)", err, created)
			}
			return m, tr
		}

		redacted, tr := post(conv.ID, "mail [email] or call [phone]", true, 2)
		stored, err := s.FindTurn(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Redactions != 2 || tr.Redactions != 2 {
			t.Errorf("queued turn redactions = %d (returned %d), want 2", stored.Redactions, tr.Redactions)
		}
		plain, _ := post(conv.ID, "no personal data", true, 0)
		sent, _ := post(conv.ID, "sent only: [email]", false, 1) // no turn keeps the count
		elsewhere, _ := post(other.ID, "[card]", true, 1)
		// A retry turn records no count of its own: the message's count stays.
		if _, err := s.QueueTurn(ctx, conv.ID, redacted.ID, true); err != nil {
			t.Fatal(err)
		}

		got, err := s.FindRedactions(ctx, conv.ID, []string{redacted.ID, plain.ID, sent.ID, elsewhere.ID, "not-an-id"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]int{redacted.ID: 2}, got); diff != "" {
			t.Errorf("FindRedactions (-want +got):\n%s", diff)
		}
		if got, err := s.FindRedactions(ctx, conv.ID, nil); err != nil || len(got) != 0 {
			t.Errorf("FindRedactions(no ids) = %v, %v", got, err)
		}
	})
}
