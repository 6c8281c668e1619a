package store_test

import (
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestPostAndStart: for the holder of a conversation's lock, a message
// posted while nothing of the conversation is unfinished gets its turn
// stored running, with the bot version that answers; one posted while a turn
// is queued or running gets it queued, as PostUserMessage does, with nothing
// of the start written; a retried delivery starts nothing. A started turn
// comes with the history asked for, as RecentDialogue reads it after the
// post (the posted message first); a queued one, or one asked for none,
// with none.
func TestPostAndStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		bot := mustBot(t, s, store.BotInput{Bot: models.Bot{Name: "Starter", Model: "local"}})
		conv := mustConversation(t, s, models.Conversation{BotID: &bot.ID})
		version := models.NewID()
		start := store.TurnStart{BotID: &bot.ID, BotVersionID: &version, BotVersion: 3}

		p1, err := s.PostAndStart(ctx, models.Message{ConversationID: conv.ID, Text: "first"}, 0, start)
		m1, t1, created := p1.Message, p1.Turn, p1.Created
		if p1.Recent != nil {
			t.Errorf("first PostAndStart without History: Recent = %v, want none", p1.Recent)
		}
		if err != nil || !created || t1 == nil || t1.Status != models.TurnRunning || t1.StartedAt == nil {
			t.Fatalf("first PostAndStart = %+v, %v, %v; want a running turn", t1, created, err)
		}
		got, err := s.FindTurn(ctx, t1.ID)
		if err != nil || got.Status != models.TurnRunning || got.StartedAt == nil || models.Deref(got.BotID) != bot.ID ||
			models.Deref(got.BotVersionID) != version || got.BotVersion != 3 || models.Deref(got.UserMessageID) != m1.ID {
			t.Fatalf("stored first turn = %+v (%v); want running, started, version %s (3) of %s, answering %s", got, err, version, bot.ID, m1.ID)
		}

		// The first is running: the next waits.
		start.History = 5
		p2, err := s.PostAndStart(ctx, models.Message{ConversationID: conv.ID, Text: "second"}, 0, start)
		t2 := p2.Turn
		if p2.Recent != nil {
			t.Errorf("queued PostAndStart: Recent = %v, want none (the turn did not start)", p2.Recent)
		}
		if err != nil || t2 == nil || t2.Status != models.TurnQueued || t2.StartedAt != nil {
			t.Fatalf("second PostAndStart = %+v, %v; want a queued turn", t2, err)
		}
		got, err = s.FindTurn(ctx, t2.ID)
		if err != nil || got.Status != models.TurnQueued || got.StartedAt != nil || got.BotVersionID != nil || got.BotVersion != 0 {
			t.Fatalf("stored second turn = %+v (%v); want queued with nothing of a start", got, err)
		}
		pending, err := s.UnfinishedTurns(ctx, conv.ID, 10)
		if err != nil || len(pending) != 2 || pending[0].ID != t1.ID || pending[1].ID != t2.ID {
			t.Fatalf("UnfinishedTurns = %v (%v); want the running one, then the queued one", pending, err)
		}

		// Both end: the next post starts again; a retried delivery of it does not.
		for _, tr := range []*models.Turn{t1, t2} {
			tr.Status = models.TurnDone
			if _, err := s.FinishTurn(ctx, tr, models.Message{Type: models.MessageBot, Text: "answer"}); err != nil {
				t.Fatal(err)
			}
		}
		key := "delivery-" + models.NewID()
		p3, err := s.PostAndStart(ctx, models.Message{ConversationID: conv.ID, Text: "third", ExternalID: &key}, 0, start)
		t3, created := p3.Turn, p3.Created
		if err != nil || !created || t3.Status != models.TurnRunning {
			t.Fatalf("third PostAndStart = %+v, %v, %v; want running", t3, created, err)
		}
		// The history asked for: the newest five of first, answer, second,
		// answer, third — read as RecentDialogue reads it now.
		want, err := s.RecentDialogue(ctx, conv.ID, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 5 || want[0].ID != p3.Message.ID {
			t.Fatalf("RecentDialogue = %v; want five, the third message first", want)
		}
		if len(p3.Recent) != len(want) {
			t.Fatalf("third PostAndStart: Recent has %d messages, want %d: %v", len(p3.Recent), len(want), p3.Recent)
		}
		for i, w := range want {
			g := p3.Recent[i]
			if g.ID != w.ID || g.Type != w.Type || g.Text != w.Text || models.Deref(g.TurnID) != models.Deref(w.TurnID) || g.ConversationID != conv.ID {
				t.Errorf("Recent[%d] = %+v, want %+v", i, g, w)
			}
		}
		t3.Status = models.TurnDone
		if _, err := s.FinishTurn(ctx, t3, models.Message{Type: models.MessageBot, Text: "answer"}); err != nil {
			t.Fatal(err)
		}
		pa, err := s.PostAndStart(ctx, models.Message{ConversationID: conv.ID, Text: "third", ExternalID: &key}, 0, start)
		again, created := pa.Turn, pa.Created
		if pa.Recent != nil {
			t.Errorf("retried PostAndStart: Recent = %v, want none", pa.Recent)
		}
		if err != nil || created || again == nil || again.ID != t3.ID || again.Status != models.TurnDone {
			t.Fatalf("retried PostAndStart = %+v, %v, %v; want the first delivery's finished turn", again, created, err)
		}
		if pending, _ := s.UnfinishedTurns(ctx, conv.ID, 10); len(pending) != 0 {
			t.Errorf("unfinished turns after the retry: %v", pending)
		}

		if _, err := s.PostAndStart(ctx, models.Message{ConversationID: models.NewID(), Text: "lost"}, 0, start); models.ErrorCode(err) != models.CodeNotFound {
			t.Errorf("PostAndStart to an unknown conversation: %v, want not_found", err)
		}
	})
}

// TestPartialIndexes: migrations 19 and 20's partial indexes exist, and the
// predicates queries state are the ones they are defined with.
func TestPartialIndexes(t *testing.T) {
	if want := "status IN ('" + models.TurnQueued + "', '" + models.TurnRunning + "')"; store.UnfinishedTurnPredicate != want {
		t.Errorf("unfinishedTurn = %q, want %q (the turn statuses changed: add a migration)", store.UnfinishedTurnPredicate, want)
	}
	if want := "type IN ('" + models.MessageUser + "', '" + models.MessageBot + "', '" + models.MessageInstruction + "')"; store.DialoguePredicate != want {
		t.Errorf("dialogueMessage = %q, want %q (the message types changed: add a migration)", store.DialoguePredicate, want)
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		if !s.DB().Migrator().HasIndex(&models.Turn{}, "idx_turns_unfinished") {
			t.Error("idx_turns_unfinished is missing")
		}
		if !s.DB().Migrator().HasIndex(&models.Message{}, "idx_messages_dialogue") {
			t.Error("idx_messages_dialogue is missing")
		}
	})
}
