package engine_test

import (
	"context"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// Every answer names the bot version that produced it: the latest when it ran.
func TestTurnNamesBotVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newFixture(t, s, echo)
		answer := func() *models.Turn {
			t.Helper()
			res, err := f.e.Turn(ctx, f.conv.ID, "hello", nil)
			if err != nil || res.Err != nil {
				t.Fatalf("Turn: %v / %v", err, res.Err)
			}
			tr, err := s.FindTurn(ctx, res.Turn.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}
		wantVersion := func(tr *models.Turn, n int) {
			t.Helper()
			v, err := s.FindBotVersion(ctx, f.bot.ID, n)
			if err != nil {
				t.Fatal(err)
			}
			if tr.BotVersion != n || tr.BotVersionID == nil || *tr.BotVersionID != v.ID {
				t.Errorf("turn answered by version %d (%v), want %d (%s)", tr.BotVersion, tr.BotVersionID, n, v.ID)
			}
		}
		wantVersion(answer(), 1)
		b := *f.bot
		b.Datasets, b.Skillsets = nil, nil
		b.Backstory = "You are C."
		if _, err := s.UpdateBot(ctx, store.BotInput{Bot: b}); err != nil {
			t.Fatal(err)
		}
		wantVersion(answer(), 2)
	})
}
