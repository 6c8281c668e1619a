package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// rollupFixture is traffic on three past days and today, made through the
// store's methods with its clock set to each day in turn.
type rollupFixture struct {
	supportFixture
	today      time.Time // start of today, UTC
	dayTwo     *models.Conversation
	dayTwoAns  *models.Message // an answer on day -2, upvoted
	yesterday  *models.Conversation
	todays     *models.Conversation
	rec        *models.DatasetRecord
	clockStore *clock
}

// day is the start of the UTC day n days from today.
func (f rollupFixture) day(n int) time.Time { return f.today.AddDate(0, 0, n) }

func mustRollupFixture(t *testing.T, s *store.Store) rollupFixture {
	t.Helper()
	ctx := t.Context()
	c := useClock(s)
	now := time.Now().UTC()
	f := rollupFixture{today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), clockStore: c}
	set := func(at time.Time) {
		c.mu.Lock()
		c.t = at
		c.mu.Unlock()
	}
	latency := func(convID string, ms int64) {
		t.Helper()
		if err := s.DB().Exec("UPDATE turns SET latency_ms = ?, ttft_ms = ?, model = 'local', input_tokens = 3, output_tokens = ? WHERE conversation_id = ?",
			ms, ms/3, ms%7, convID).Error; err != nil {
			t.Fatal(err)
		}
	}

	// Conversations and messages take GORM's clock, not the store's: moved.
	move := func(at time.Time, convs ...*models.Conversation) {
		t.Helper()
		var ids []string
		for _, c := range convs {
			ids = append(ids, c.ID)
		}
		for _, q := range []string{"UPDATE conversations SET created_at = ? WHERE id IN ?", "UPDATE messages SET created_at = ? WHERE conversation_id IN ?"} {
			if err := s.DB().Exec(q, at, ids).Error; err != nil {
				t.Fatal(err)
			}
		}
	}

	set(f.day(-3).Add(9 * time.Hour))
	f.supportFixture = mustSupportFixture(t, s)
	move(f.day(-3).Add(9*time.Hour), f.refund, f.parcel, f.failing, f.test, f.api)
	latency(f.refund.ID, 100)
	latency(f.parcel.ID, 1234)
	f.rec = mustRecord(t, s, f.botA.Datasets[0].ID, "Parcels take three days.")

	set(f.day(-2).Add(10 * time.Hour))
	f.dayTwo = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Day two", ContactID: ptr("contact-2")})
	_, f.dayTwoAns = mustTurn(t, s, f.dayTwo.ID, "Where is my parcel now?", "Parcels take three days.", f.rec, false)
	mustTurn(t, s, f.dayTwo.ID, "Can I pay by cheque?", "I don't know: nothing in my knowledge base covers that.", nil, false)
	latency(f.dayTwo.ID, 450)
	if _, err := s.Rate(ctx, f.dayTwo.ID, f.dayTwoAns.ID, models.Rater{Key: "session:y", Kind: models.RaterEndUser, Name: "end user"}, 1, ""); err != nil {
		t.Fatal(err)
	}
	b := mustConversation(t, s, models.Conversation{BotID: &f.botB.ID, Name: "Day two B", ContactID: ptr("contact-1")})
	mustTurn(t, s, b.ID, "hello", "Hi!", nil, false)
	latency(b.ID, 98765)
	move(f.day(-2).Add(10*time.Hour), f.dayTwo, b)

	set(f.day(-1).Add(23*time.Hour + 59*time.Minute))
	f.yesterday = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Yesterday"})
	mustTurn(t, s, f.yesterday.ID, "Is there a refund for parcels?", "Refunds are paid back within 5 days.", f.rec, false)
	mustTurn(t, s, f.yesterday.ID, "Where is my parcel?", "I do not know.", nil, false)
	latency(f.yesterday.ID, 5678)
	move(f.day(-1).Add(23*time.Hour+59*time.Minute), f.yesterday)

	set(now)
	f.todays = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Today", ContactID: ptr("contact-3")})
	mustTurn(t, s, f.todays.ID, "Where is my parcel today?", "I don't know.", nil, false)
	return f
}

// rollupQueries are ranges over the fixture: all of it, one bot with test
// data, the other bot, a range starting mid-day and ending before today,
// and no range at all.
func rollupQueries(f rollupFixture) map[string]models.AnalyticsQuery {
	return map[string]models.AnalyticsQuery{
		"AllBots":       {Since: f.day(-5), Until: f.day(1)},
		"BotAWithTests": {BotID: f.botA.ID, IncludeTests: true, Since: f.day(-5), Until: f.day(1)},
		"BotB":          {BotID: f.botB.ID, Since: f.day(-5), Until: f.day(1)},
		"PartialDays":   {Since: f.day(-3).Add(9*time.Hour + 30*time.Minute), Until: f.day(-1)},
		"NoRange":       {},
	}
}

// wantRollupsEqualLive fails unless FindAnalytics (rollups for past days)
// equals the live computation for every fixture query, and returns the
// all-bots figures.
func wantRollupsEqualLive(t *testing.T, s *store.Store, f rollupFixture) *models.Analytics {
	t.Helper()
	var all *models.Analytics
	for name, q := range rollupQueries(f) {
		got, err := s.FindAnalytics(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: FindAnalytics: %v", name, err)
		}
		want, err := s.FindAnalyticsLive(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: live: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: rollups differ from live (-live +rollups):\n%s", name, diff)
		}
		if name == "AllBots" {
			all = got
		}
	}
	return all
}

// TestAnalyticsRollups checks that the page read from per-day rollups equals
// the live count, that a rolled-up day is not computed again, and that the
// triggers invalidate the past days that the store's write paths change.
func TestAnalyticsRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := mustRollupFixture(t, s)
		ctx := t.Context()
		a := wantRollupsEqualLive(t, s, f)
		// Hand-counted: 4 + 2 + 1 + 1 real conversations, 6 + 6 + 4 + 2
		// messages, 3 + 3 + 2 + 1 turns, 1 + 1 + 1 + 1 unanswered.
		if a.Conversations != 8 || a.Messages != 18 || a.Turns != 9 || a.Unanswered != 4 || a.Up != 2 || a.Down != 1 || a.ActiveContacts != 3 {
			t.Errorf("all bots = %+v", a)
		}
		// Latencies of done turns: 100, 1234, 450, 450, 98765, 5678, 5678
		// and today's: p95 is the 8th of 8.
		if a.LatencyP95 != 98700 {
			t.Errorf("latency p95 = %d, want 98700 (98,765 to three significant digits)", a.LatencyP95)
		}
		rolled := []string{f.day(-3).Format(time.DateOnly), f.day(-2).Format(time.DateOnly)}
		if n := count(t, s, "analytics_rollup_days", "day IN ?", rolled); n != 2 {
			t.Fatalf("%d of days -3 and -2 rolled up, want 2", n)
		}

		t.Run("NotRecomputed", func(t *testing.T) {
			if n := count(t, s, "analytics_dirty_days", "day >= ?", f.day(-5).Format(time.DateOnly)); n != 0 {
				t.Errorf("%d dirty days after the page, want 0", n)
			}
			var before []time.Time
			if err := s.DB().Table("analytics_rollup_days").Where("day IN ?", rolled).Order("day").Pluck("computed_at", &before).Error; err != nil {
				t.Fatal(err)
			}
			f.clockStore.Advance(time.Minute)
			if _, err := s.FindAnalytics(ctx, rollupQueries(f)["AllBots"]); err != nil {
				t.Fatal(err)
			}
			var after []time.Time
			if err := s.DB().Table("analytics_rollup_days").Where("day IN ?", rolled).Order("day").Pluck("computed_at", &after).Error; err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("days rolled up again (-before +after):\n%s", diff)
			}
		})

		t.Run("ImportPastMessage", func(t *testing.T) {
			at := f.day(-2).Add(10*time.Hour + 30*time.Minute)
			if _, err := s.CreateMessage(ctx, models.Message{ConversationID: f.refund.ID, Type: models.MessageUser, Text: "Imported", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if got := wantRollupsEqualLive(t, s, f); got.Messages != a.Messages+1 {
				t.Errorf("messages = %d, want %d", got.Messages, a.Messages+1)
			}
		})

		t.Run("ChangeAndRemovePastRating", func(t *testing.T) {
			who := models.Rater{Key: "session:x", Kind: models.RaterEndUser, Name: "end user"}
			if _, err := s.Rate(ctx, f.parcel.ID, f.parcelAnswer.ID, who, 1, ""); err != nil {
				t.Fatal(err)
			}
			got := wantRollupsEqualLive(t, s, f)
			if got.Up != a.Up+1 || got.Down != a.Down-1 {
				t.Errorf("after the change up, down = %d, %d, want %d, %d", got.Up, got.Down, a.Up+1, a.Down-1)
			}
			// Counted on today now; withdraw the day -2 vote.
			if _, err := s.Rate(ctx, f.dayTwo.ID, f.dayTwoAns.ID, models.Rater{Key: "session:y", Kind: models.RaterEndUser}, 0, ""); err != nil {
				t.Fatal(err)
			}
			if got := wantRollupsEqualLive(t, s, f); got.Up != a.Up {
				t.Errorf("after the removal up = %d, want %d", got.Up, a.Up)
			}
		})

		t.Run("EditPastAnswer", func(t *testing.T) {
			// Day -2's answer from a record now says it did not know.
			m := *f.dayTwoAns
			m.Text = "I don't know, sorry."
			if _, err := s.UpdateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			if got := wantRollupsEqualLive(t, s, f); got.Unanswered != a.Unanswered+1 {
				t.Errorf("unanswered = %d, want %d", got.Unanswered, a.Unanswered+1)
			}
		})

		t.Run("DeletePastConversation", func(t *testing.T) {
			before, err := s.FindAnalytics(ctx, rollupQueries(f)["AllBots"])
			if err != nil {
				t.Fatal(err)
			}
			// Refund was created on day -3 and has a message imported on day -2.
			if err := s.DeleteConversation(ctx, f.refund.ID); err != nil {
				t.Fatal(err)
			}
			got := wantRollupsEqualLive(t, s, f)
			if got.Conversations != before.Conversations-1 || got.Messages != before.Messages-3 {
				t.Errorf("conversations, messages = %d, %d, want %d, %d", got.Conversations, got.Messages, before.Conversations-1, before.Messages-3)
			}
		})

		t.Run("DeleteBot", func(t *testing.T) {
			q := rollupQueries(f)["BotB"]
			if before, err := s.FindAnalytics(ctx, q); err != nil || before.Conversations == 0 {
				t.Fatalf("bot B before: %+v, %v", before, err)
			}
			if err := s.DeleteBot(ctx, f.botB.ID); err != nil {
				t.Fatal(err)
			}
			got := wantRollupsEqualLive(t, s, f)
			b, err := s.FindAnalytics(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if b.Conversations != 0 || b.Messages != 0 || b.Turns != 0 {
				t.Errorf("bot B after its deletion = %+v, want nothing", b)
			}
			if got.Conversations != a.Conversations-1 { // Refund deleted above; bot B's stay, without a bot
				t.Errorf("all bots conversations = %d, want %d", got.Conversations, a.Conversations-1)
			}
		})

		t.Run("RollupAnalytics", func(t *testing.T) {
			if err := s.DB().Exec("DELETE FROM analytics_rollup_days").Error; err != nil {
				t.Fatal(err)
			}
			n, _, err := s.RollupAnalytics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < 2 {
				t.Errorf("RollupAnalytics computed %d days, want at least days -3 and -2", n)
			}
			if n, _, err := s.RollupAnalytics(ctx); err != nil || n != 0 {
				t.Errorf("RollupAnalytics again = %d, %v, want 0 days", n, err)
			}
			wantRollupsEqualLive(t, s, f)
		})
	})
}
