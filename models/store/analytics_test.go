package store_test

import (
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestFindAnalytics checks the Analytics figures against the support fixture,
// counted by hand: Refund (bot A, contact, answered from a record, upvoted),
// Parcel (bot A, "I don't know", downvoted by the end user), Failing (bot B,
// a failed turn), Channel (bot B, through a webhook: one user message and a
// context entry), and a QA scratch conversation left out by default.
func TestFindAnalytics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := mustSupportFixture(t, s)
		db := s.DB()
		for _, q := range []struct {
			conv string
			sql  string
		}{
			{f.refund.ID, "UPDATE turns SET latency_ms = 100, ttft_ms = 40, model = 'local', input_tokens = 10, output_tokens = 5 WHERE conversation_id = ?"},
			{f.parcel.ID, "UPDATE turns SET latency_ms = 300, model = 'local', input_tokens = 20, output_tokens = 7 WHERE conversation_id = ?"},
			{f.failing.ID, "UPDATE turns SET latency_ms = 9000, model = 'local' WHERE conversation_id = ?"},
		} {
			if err := db.Exec(q.sql, q.conv).Error; err != nil {
				t.Fatal(err)
			}
		}
		a, err := s.FindAnalytics(t.Context(), models.AnalyticsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Days) != 2 || a.Days[0].Channel != "api" || a.Days[0].Conversations != 3 || a.Days[0].Messages != 5 ||
			a.Days[1].Channel != "webhook" || a.Days[1].Conversations != 1 || a.Days[1].Messages != 1 {
			t.Errorf("days = %+v", a.Days)
		}
		checks := []struct {
			name      string
			got, want float64
		}{
			{"conversations", float64(a.Conversations), 4}, {"messages", float64(a.Messages), 6}, {"contacts", float64(a.ActiveContacts), 1},
			{"up", float64(a.Up), 1}, {"down", float64(a.Down), 1}, {"satisfaction", a.Satisfaction(), 0.5},
			{"turns", float64(a.Turns), 3}, {"unanswered", float64(a.Unanswered), 1}, {"unanswered rate", a.UnansweredRate(), 1.0 / 3},
			{"latency p50", float64(a.LatencyP50), 100}, {"latency p95", float64(a.LatencyP95), 300},
			{"ttft p50", float64(a.TTFTP50), 40}, {"ttft p95", float64(a.TTFTP95), 40}, {"ttft turns", float64(a.TTFTTurns), 1},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
		if len(a.Tokens) != 1 || a.Tokens[0] != (models.ModelTokens{Model: "local", Turns: 3, InputTokens: 30, OutputTokens: 12}) {
			t.Errorf("tokens = %+v", a.Tokens)
		}
		if len(a.TopUnanswered) != 1 || a.TopUnanswered[0].Example != "Where is my parcel?" || a.TopUnanswered[0].ConversationIDs[0] != f.parcel.ID {
			t.Errorf("top unanswered = %+v", a.TopUnanswered)
		}
		if len(a.MostRetrieved) != 1 || a.MostRetrieved[0].Uses != 1 {
			t.Errorf("most retrieved = %+v", a.MostRetrieved)
		}

		t.Run("OneBotWithTests", func(t *testing.T) {
			a, err := s.FindAnalytics(t.Context(), models.AnalyticsQuery{BotID: f.botA.ID, IncludeTests: true})
			if err != nil {
				t.Fatal(err)
			}
			// Refund, Parcel and the QA scratch conversation (one user message).
			if a.Conversations != 3 || a.Messages != 5 || a.Turns != 2 || a.Unanswered != 1 || len(a.LeastRetrieved) != 1 || a.LeastRetrieved[0].Uses != 1 {
				t.Errorf("bot A = %+v", a)
			}
		})
	})
}
