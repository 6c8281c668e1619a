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
// store's methods with its clock set to each day in turn; today's in the
// current hour and, when today has a complete hour yet, in one earlier hour.
type rollupFixture struct {
	supportFixture
	now        time.Time // when the fixture was made
	today      time.Time // start of today, UTC
	dayTwo     *models.Conversation
	dayTwoAns  *models.Message // an answer on day -2, upvoted
	yesterday  *models.Conversation
	todays     *models.Conversation
	rec        *models.DatasetRecord
	clockStore *clock
	// hour is the start of an hour of today before the current one and
	// complete for rollupGrace (zero if there is none yet: before 01:10
	// UTC), with earlier in it: two turns, one answered from a record and
	// upvoted (earlierAns), one that did not know.
	hour       time.Time
	earlier    *models.Conversation
	earlierAns *models.Message
}

// earlierHour is the hour of today the fixture puts traffic in: the one
// before the last hour complete for rollupGrace at now (so it stays complete
// and before the current hour whatever the test's duration), if today has
// it.
func earlierHour(now time.Time) (time.Time, bool) {
	h := now.Add(-store.RollupGrace).Truncate(time.Hour).Add(-time.Hour)
	return h, !h.Before(now.Truncate(24 * time.Hour))
}

// hourKey is an hour's key in the hour rollup tables.
func hourKey(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// day is the start of the UTC day n days from today.
func (f rollupFixture) day(n int) time.Time { return f.today.AddDate(0, 0, n) }

func mustRollupFixture(t *testing.T, s *store.Store) rollupFixture {
	t.Helper()
	ctx := t.Context()
	c := useClock(s)
	now := time.Now().UTC()
	f := rollupFixture{now: now, today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), clockStore: c}
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

	if h, ok := earlierHour(now); ok {
		f.hour = h
		at := h.Add(20 * time.Minute)
		set(at)
		f.earlier = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Earlier today", ContactID: ptr("contact-4")})
		_, f.earlierAns = mustTurn(t, s, f.earlier.ID, "Is my parcel late?", "Parcels take three days.", f.rec, false)
		mustTurn(t, s, f.earlier.ID, "Can I pay in coins?", "I don't know.", nil, false)
		latency(f.earlier.ID, 321)
		if _, err := s.Rate(ctx, f.earlier.ID, f.earlierAns.ID, models.Rater{Key: "session:z", Kind: models.RaterEndUser, Name: "end user"}, 1, ""); err != nil {
			t.Fatal(err)
		}
		move(at, f.earlier)
	}

	set(now)
	f.todays = mustConversation(t, s, models.Conversation{BotID: &f.botA.ID, Name: "Today", ContactID: ptr("contact-3")})
	mustTurn(t, s, f.todays.ID, "Where is my parcel today?", "I don't know.", nil, false)
	return f
}

// rollupQueries are ranges over the fixture: all of it, one bot with test
// data, the other bot, a range starting mid-day and ending before today,
// part of a past day in hours, today, a range around the earlier hour of
// today, and no range at all.
func rollupQueries(f rollupFixture) map[string]models.AnalyticsQuery {
	q := map[string]models.AnalyticsQuery{
		"AllBots":       {Since: f.day(-5), Until: f.day(1)},
		"BotAWithTests": {BotID: f.botA.ID, IncludeTests: true, Since: f.day(-5), Until: f.day(1)},
		"BotB":          {BotID: f.botB.ID, Since: f.day(-5), Until: f.day(1)},
		"PartialDays":   {Since: f.day(-3).Add(9*time.Hour + 30*time.Minute), Until: f.day(-1)},
		"PartialHours":  {Since: f.day(-2).Add(9*time.Hour + 30*time.Minute), Until: f.day(-2).Add(11*time.Hour + 15*time.Minute)},
		"Today":         {IncludeTests: true, Since: f.day(0), Until: f.day(1)},
		"NoRange":       {},
	}
	if !f.hour.IsZero() {
		q["AroundEarlierHour"] = models.AnalyticsQuery{Since: f.hour.Add(-30 * time.Minute), Until: f.hour.Add(90 * time.Minute)}
	}
	return q
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
		// messages, 3 + 3 + 2 + 1 turns, 1 + 1 + 1 + 1 unanswered; the
		// earlier hour adds 1, 4, 2, 1, a vote up and a contact.
		want := models.Analytics{Conversations: 8, Messages: 18, Turns: 9, Unanswered: 4, Up: 2, Down: 1, ActiveContacts: 3}
		if !f.hour.IsZero() {
			want.Conversations, want.Messages, want.Turns, want.Unanswered, want.Up, want.ActiveContacts = 9, 22, 11, 5, 3, 4
		}
		if a.Conversations != want.Conversations || a.Messages != want.Messages || a.Turns != want.Turns || a.Unanswered != want.Unanswered ||
			a.Up != want.Up || a.Down != want.Down || a.ActiveContacts != want.ActiveContacts {
			t.Errorf("all bots = %+v, want the counts of %+v", a, want)
		}
		// Latencies of done turns: 100, 1234, 450, 450, 98765, 5678, 5678,
		// the earlier hour's 321, 321 and today's: p95 is the last.
		if a.LatencyP95 != 98700 {
			t.Errorf("latency p95 = %d, want 98700 (98,765 to three significant digits)", a.LatencyP95)
		}
		if !f.hour.IsZero() {
			if n := count(t, s, "analytics_rollup_hours", "hour = ?", hourKey(f.hour)); n != 1 {
				t.Errorf("the earlier hour %s is not rolled up (%d rows), want it read from its rollup", hourKey(f.hour), n)
			}
		}
		// Day -2's 10:00 hour, read for PartialHours.
		if n := count(t, s, "analytics_rollup_hours", "hour = ?", hourKey(f.day(-2).Add(10*time.Hour))); n != 1 {
			t.Errorf("day -2's 10:00 hour rolled up %d times, want 1", n)
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
			if f.hour.IsZero() {
				return
			}
			hour := func() (at []time.Time) {
				t.Helper()
				if err := s.DB().Table("analytics_rollup_hours").Where("hour = ?", hourKey(f.hour)).Pluck("computed_at", &at).Error; err != nil {
					t.Fatal(err)
				}
				return at
			}
			before = hour()
			f.clockStore.Advance(time.Minute)
			if _, err := s.FindAnalytics(ctx, rollupQueries(f)["Today"]); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, hour()); diff != "" || len(before) != 1 {
				t.Errorf("earlier hour rolled up again or not at all (-before +after):\n%s", diff)
			}
			if n := count(t, s, "analytics_dirty_hours", "hour = ?", hourKey(f.hour)); n != 0 {
				t.Errorf("earlier hour dirty after the page (%d), want clean", n)
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

		t.Run("CurrentHourFree", func(t *testing.T) {
			// The turn path's rows (at the current hour) mark nothing; not
			// judged close to the hour's end, when "now" may be past it by
			// the time the row is written.
			if time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)) < time.Minute {
				t.Skip("within a minute of the hour's end")
			}
			dirty := count(t, s, "analytics_dirty_hours", "") + count(t, s, "analytics_dirty_days", "")
			now := time.Now().UTC()
			if _, err := s.CreateMessage(ctx, models.Message{ConversationID: f.todays.ID, Type: models.MessageUser, Text: "Now", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Exec("UPDATE turns SET latency_ms = latency_ms + 1 WHERE conversation_id = ?", f.todays.ID).Error; err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "analytics_dirty_hours", "") + count(t, s, "analytics_dirty_days", ""); n != dirty {
				t.Errorf("dirty marks %d after writes at the current hour, want %d", n, dirty)
			}
		})

		earlierHourSubtests(t, s, f)

		t.Run("RollupAnalytics", func(t *testing.T) {
			for _, table := range []string{"analytics_rollup_days", "analytics_rollup_hours"} {
				if err := s.DB().Exec("DELETE FROM " + table).Error; err != nil {
					t.Fatal(err)
				}
			}
			n, hours, err := s.RollupAnalytics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < 2 {
				t.Errorf("RollupAnalytics computed %d days, want at least days -3 and -2", n)
			}
			if !f.hour.IsZero() && (hours < 1 || count(t, s, "analytics_rollup_hours", "hour = ?", hourKey(f.hour)) != 1) {
				t.Errorf("RollupAnalytics computed %d hours, want at least the earlier hour %s", hours, hourKey(f.hour))
			}
			if n, hours, err := s.RollupAnalytics(ctx); err != nil || n != 0 || hours != 0 {
				t.Errorf("RollupAnalytics again = %d days, %d hours, %v, want none", n, hours, err)
			}
			wantRollupsEqualLive(t, s, f)
		})
	})
}

// earlierHourSubtests check that every kind of write to the fixture's
// earlier hour of today marks that hour dirty (the triggers of migration 18)
// and that the page then counts it again: each begins with the hour rolled
// up, so without the mark the page would show the hour's old rollup.
func earlierHourSubtests(t *testing.T, s *store.Store, f rollupFixture) {
	t.Helper()
	ctx := t.Context()
	// write makes a change to the earlier hour's data, and then the page
	// must equal the live count, with the figure check reads from it.
	write := func(t *testing.T, change func(*testing.T), check func(before, after *models.Analytics)) {
		t.Helper()
		if f.hour.IsZero() {
			t.Skip("no complete hour of today yet")
		}
		q := rollupQueries(f)["BotAWithTests"]
		before, err := s.FindAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		key := hourKey(f.hour)
		if n := count(t, s, "analytics_rollup_hours", "hour = ?", key); n != 1 {
			t.Fatalf("hour %s not rolled up before the write", key)
		}
		if n := count(t, s, "analytics_dirty_hours", "hour = ?", key); n != 0 {
			t.Fatalf("hour %s dirty before the write", key)
		}
		change(t)
		if n := count(t, s, "analytics_dirty_hours", "hour = ?", key); n != 1 {
			t.Errorf("hour %s not marked dirty by the write", key)
		}
		wantRollupsEqualLive(t, s, f)
		after, err := s.FindAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		check(before, after)
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// turn is the earlier conversation's first turn without a record (if
	// noRecord) or first turn.
	turn := func(t *testing.T, noRecord bool) string {
		t.Helper()
		q := s.DB().Table("turns").Where("conversation_id = ?", f.earlier.ID).Order("created_at")
		if noRecord {
			q = q.Where("id NOT IN (SELECT turn_id FROM turn_records)")
		}
		var id string
		must(t, q.Limit(1).Pluck("id", &id).Error)
		return id
	}
	var todayBefore *models.Analytics // MarkEarlierAsTest's, without test data
	withoutTests := rollupQueries(f)["Today"]
	withoutTests.IncludeTests = false
	for _, tc := range []struct {
		name   string
		change func(t *testing.T)
		check  func(t *testing.T, before, after *models.Analytics)
	}{
		{"InsertEarlierToday", func(t *testing.T) {
			at := f.hour.Add(30 * time.Minute)
			_, err := s.CreateMessage(ctx, models.Message{ConversationID: f.earlier.ID, Type: models.MessageUser, Text: "Imported earlier", CreatedAt: at, UpdatedAt: at})
			must(t, err)
		}, func(t *testing.T, before, after *models.Analytics) {
			if after.Messages != before.Messages+1 {
				t.Errorf("messages = %d, want %d", after.Messages, before.Messages+1)
			}
		}},
		// The vote moves to now; the earlier hour loses its up.
		{"ChangeEarlierRating", func(t *testing.T) {
			_, err := s.Rate(ctx, f.earlier.ID, f.earlierAns.ID, models.Rater{Key: "session:z", Kind: models.RaterEndUser, Name: "end user"}, -1, "")
			must(t, err)
		}, func(t *testing.T, before, after *models.Analytics) {
			if after.Up != before.Up-1 || after.Down != before.Down+1 {
				t.Errorf("up, down = %d, %d, want %d, %d", after.Up, after.Down, before.Up-1, before.Down+1)
			}
		}},
		{"EditEarlierAnswer", func(t *testing.T) {
			m := *f.earlierAns
			m.Text = "I don't know, sorry."
			_, err := s.UpdateMessage(ctx, m)
			must(t, err)
		}, func(t *testing.T, before, after *models.Analytics) {
			if after.Unanswered != before.Unanswered+1 {
				t.Errorf("unanswered = %d, want %d", after.Unanswered, before.Unanswered+1)
			}
		}},
		// A turn of the earlier hour whose figures are written after it.
		{"FinishEarlierTurnLate", func(t *testing.T) {
			must(t, s.DB().Exec("UPDATE turns SET latency_ms = 123456, output_tokens = output_tokens + 10 WHERE conversation_id = ?", f.earlier.ID).Error)
		}, func(t *testing.T, _, after *models.Analytics) {
			if after.LatencyP95 != 123000 {
				t.Errorf("latency p95 = %d, want 123000", after.LatencyP95)
			}
		}},
		// A record recorded later for the earlier turn that had none.
		{"RetrieveEarlierRecord", func(t *testing.T) {
			must(t, s.DB().Create(&models.TurnRecord{TurnID: turn(t, true), Rank: 1, RecordID: f.rec.ID, DatasetID: f.rec.DatasetID, Source: "later", Score: 0.5}).Error)
		}, func(t *testing.T, before, after *models.Analytics) {
			if len(after.MostRetrieved) == 0 || len(before.MostRetrieved) == 0 || after.MostRetrieved[0].Uses != before.MostRetrieved[0].Uses+1 {
				t.Errorf("most retrieved %+v, want one more use than %+v", after.MostRetrieved, before.MostRetrieved)
			}
		}},
		{"CallEarlierAbility", func(t *testing.T) {
			must(t, s.DB().Create(&models.TurnCall{TurnID: turn(t, false), Seq: 1, MessageID: f.earlierAns.ID, Ability: "lookup", CallID: "call-1", Input: "{}", Error: "timeout"}).Error)
		}, func(t *testing.T, before, after *models.Analytics) {
			if len(after.Abilities) != len(before.Abilities)+1 {
				t.Errorf("abilities %+v, want one more than %+v", after.Abilities, before.Abilities)
			}
		}},
		// A change to the conversation marks every hour of its rows; the
		// page without test data no longer counts it.
		{"MarkEarlierAsTest", func(t *testing.T) {
			var err error
			todayBefore, err = s.FindAnalytics(ctx, withoutTests)
			must(t, err)
			must(t, s.DB().Exec("UPDATE conversations SET kind = ? WHERE id = ?", models.ConversationTest, f.earlier.ID).Error)
		}, func(t *testing.T, _, _ *models.Analytics) {
			got, err := s.FindAnalytics(ctx, withoutTests)
			must(t, err)
			if got.Conversations != todayBefore.Conversations-1 {
				t.Errorf("today's real conversations = %d, want %d", got.Conversations, todayBefore.Conversations-1)
			}
		}},
		{"DeleteEarlierConversation", func(t *testing.T) {
			must(t, s.DeleteConversation(ctx, f.earlier.ID))
		}, func(t *testing.T, before, after *models.Analytics) {
			if after.Conversations != before.Conversations-1 || after.Turns != before.Turns-2 {
				t.Errorf("conversations, turns = %d, %d, want %d, %d", after.Conversations, after.Turns, before.Conversations-1, before.Turns-2)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(t, tc.change, func(before, after *models.Analytics) { tc.check(t, before, after) })
		})
	}
}

// TestAnalyticsPlan checks how a range is split: complete days from day
// rollups, the complete hours of the rest from hour rollups, and live at
// most the unaligned ends and what is not complete for rollupGrace yet.
func TestAnalyticsPlan(t *testing.T) {
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 12, day, hour, minute, 0, 0, time.UTC) }
	sp := func(from, to time.Time) store.PlanSpan { return store.PlanSpan{From: from, To: to} }
	type plan struct{ Days, Hours, Live, Ensure []store.PlanSpan }
	nov := func(day int) time.Time { return time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name         string
		lo, hi, done time.Time
		want         plan
	}{
		{"Last30Days", nov(3), at(3, 0, 0), at(2, 12, 24), plan{
			Days: []store.PlanSpan{sp(nov(3), at(2, 0, 0))}, Hours: []store.PlanSpan{sp(at(2, 0, 0), at(2, 12, 0))},
			Live: []store.PlanSpan{sp(at(2, 12, 0), at(3, 0, 0))}}},
		{"InTheHoursGrace", nov(3), at(3, 0, 0), at(2, 11, 55), plan{
			Days: []store.PlanSpan{sp(nov(3), at(2, 0, 0))}, Hours: []store.PlanSpan{sp(at(2, 0, 0), at(2, 11, 0))},
			Live: []store.PlanSpan{sp(at(2, 11, 0), at(3, 0, 0))}}},
		{"YesterdayInTheDaysGrace", nov(3), at(3, 0, 0), at(1, 23, 55), plan{
			Days: []store.PlanSpan{sp(nov(3), at(1, 0, 0))}, Hours: []store.PlanSpan{sp(at(1, 0, 0), at(1, 23, 0))},
			Live: []store.PlanSpan{sp(at(1, 23, 0), at(3, 0, 0))}}},
		{"UnalignedPast", nov(10).Add(9*time.Hour + 30*time.Minute), nov(20).Add(15*time.Hour + 45*time.Minute), at(2, 12, 24), plan{
			Days:   []store.PlanSpan{sp(nov(11), nov(20))},
			Hours:  []store.PlanSpan{sp(nov(10).Add(10*time.Hour), nov(11)), sp(nov(20), nov(20).Add(15*time.Hour))},
			Live:   []store.PlanSpan{sp(nov(10).Add(9*time.Hour+30*time.Minute), nov(10).Add(10*time.Hour)), sp(nov(20).Add(15*time.Hour), nov(20).Add(15*time.Hour+45*time.Minute))},
			Ensure: []store.PlanSpan{sp(nov(10), nov(11)), sp(nov(20), nov(21))}}},
		{"WithinAnHour", at(2, 10, 15), at(2, 10, 45), at(2, 12, 24), plan{Live: []store.PlanSpan{sp(at(2, 10, 15), at(2, 10, 45))}}},
		{"NoEnd", nov(30), time.Time{}, at(2, 12, 24), plan{
			Days: []store.PlanSpan{sp(nov(30), at(2, 0, 0))}, Hours: []store.PlanSpan{sp(at(2, 0, 0), at(2, 12, 0))},
			Live: []store.PlanSpan{sp(at(2, 12, 0), time.Time{})}}},
		{"Future", at(5, 0, 0), at(6, 0, 0), at(2, 12, 24), plan{Live: []store.PlanSpan{sp(at(5, 0, 0), at(6, 0, 0))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got plan
			got.Days, got.Hours, got.Live, got.Ensure = store.AnalyticsPlan(tc.lo, tc.hi, tc.done)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
