package store_test

import (
	"context"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// Migration 6 turns what earlier versions kept in message meta into typed
// turns (figures, records, ability calls, failures) and ratings, and leaves
// the meta the user wrote.
func TestMigrate0006(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, storetest.URL(t, d), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := store.MigrateTo(s, 5); err != nil {
				t.Fatalf("migrate to 5: %v", err)
			}
			db := s.DB()
			now := time.Now().UTC().Truncate(time.Millisecond)
			convID, recID, dsID := models.NewID(), models.NewID(), models.NewID()
			ids := make([]string, 6)
			for i := range ids {
				ids[i] = models.NewID()
			}
			at := func(i int) time.Time { return now.Add(time.Duration(i) * time.Second) }
			rows := []struct {
				table string
				vals  map[string]any
			}{
				{"conversations", map[string]any{"id": convID, "name": "Old", "description": "", "model": "local", "backstory": "",
					"privacy": false, "moderation": false, "meta": models.Meta{"rating": map[string]any{"value": 1, "by": "api:app"}},
					"created_at": now, "updated_at": now}},
				{"messages", map[string]any{"id": ids[0], "conversation_id": convID, "type": "user", "text": "What time is it?", "meta": models.Meta{}, "created_at": at(0), "updated_at": at(0)}},
				{"messages", map[string]any{"id": ids[1], "conversation_id": convID, "type": "context", "text": "A record.",
					"meta":       models.Meta{"query": "time", "records": []any{map[string]any{"id": recID, "datasetId": dsID, "source": "faq", "score": 0.8}}},
					"created_at": at(1), "updated_at": at(1)}},
				{"messages", map[string]any{"id": ids[2], "conversation_id": convID, "type": "activity", "text": "Ran clock",
					"meta":       models.Meta{"ability": "clock", "callId": "c1", "input": "{}", "output": "12:00", "durationMs": 3},
					"created_at": at(2), "updated_at": at(2)}},
				{"messages", map[string]any{"id": ids[3], "conversation_id": convID, "type": "bot", "text": "It is noon.",
					"meta": models.Meta{"provider": "local", "model": "local", "latencyMs": 40, "inputTokens": 100, "outputTokens": 5,
						"finishReason": "stop", "toolRounds": 1, "mine": "kept",
						"rating": map[string]any{"value": -1, "reason": "vague", "by": "qa@example.com"}},
					"created_at": at(3), "updated_at": at(3)}},
				{"messages", map[string]any{"id": ids[4], "conversation_id": convID, "type": "user", "text": "And tomorrow?", "meta": models.Meta{}, "created_at": at(4), "updated_at": at(4)}},
				{"messages", map[string]any{"id": ids[5], "conversation_id": convID, "type": "activity", "text": "Error: overloaded",
					"meta": models.Meta{"stage": "model", "error": "overloaded"}, "created_at": at(5), "updated_at": at(5)}},
			}
			for _, row := range rows {
				if err := db.Table(row.table).Create(row.vals).Error; err != nil {
					t.Fatalf("insert into %s: %v", row.table, err)
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			msgs, _, err := s.FindMessages(ctx, convID, models.Page{Order: models.OrderAsc})
			if err != nil {
				t.Fatal(err)
			}
			bot := msgs[3]
			if bot.TurnID == nil || msgs[1].TurnID == nil || *msgs[1].TurnID != *bot.TurnID || msgs[2].TurnID == nil {
				t.Fatalf("the turn's messages do not name it: %+v", msgs)
			}
			if len(bot.Meta) != 1 || bot.Meta["mine"] != "kept" || len(msgs[1].Meta) != 0 || len(msgs[2].Meta) != 0 {
				t.Errorf("meta after the move: bot %v, context %v, activity %v (only the user's own keys stay)", bot.Meta, msgs[1].Meta, msgs[2].Meta)
			}
			done, err := s.FindTurn(ctx, *bot.TurnID)
			if err != nil {
				t.Fatal(err)
			}
			if done.Status != models.TurnDone || done.Provider != "local" || done.LatencyMs != 40 || done.InputTokens != 100 ||
				done.OutputTokens != 5 || done.ToolRounds != 1 || done.EndReason != models.EndStop ||
				done.UserMessageID == nil || *done.UserMessageID != ids[0] || done.ContextMessageID == nil || *done.ContextMessageID != ids[1] {
				t.Errorf("done turn = %+v", done)
			}
			if len(done.Records) != 1 || done.Records[0].RecordID != recID || done.Records[0].Score != 0.8 {
				t.Errorf("records = %+v", done.Records)
			}
			if len(done.Calls) != 1 || done.Calls[0].Ability != "clock" || done.Calls[0].Output != "12:00" || done.Calls[0].MessageID != ids[2] {
				t.Errorf("calls = %+v", done.Calls)
			}
			failed, err := s.FindTurn(ctx, *msgs[5].TurnID)
			if err != nil || failed.Status != models.TurnFailed || failed.ErrorStage != "model" || failed.Error != "overloaded" ||
				*failed.UserMessageID != ids[4] {
				t.Errorf("failed turn = %+v (%v)", failed, err)
			}
			rs, err := s.FindRatings(ctx, convID, []string{ids[3]})
			if err != nil || len(rs[ids[3]]) != 1 || rs[ids[3]][0].Value != -1 || rs[ids[3]][0].RaterName != "qa@example.com" {
				t.Errorf("message ratings = %+v (%v)", rs, err)
			}
			crs, err := s.FindConversationRatings(ctx, []string{convID})
			if err != nil || len(crs[convID]) != 1 || crs[convID][0].RaterKind != models.RaterAPI {
				t.Errorf("conversation ratings = %+v (%v)", crs, err)
			}
			conv, _ := s.FindConversation(ctx, convID)
			if _, ok := conv.Meta["rating"]; ok {
				t.Error("the conversation's rating is still in its meta")
			}
		})
	}
}
