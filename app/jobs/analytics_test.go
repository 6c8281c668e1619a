package jobs_test

import (
	"testing"
	"time"

	"parley/models"
	"parley/models/store/storetest"
)

// TestAnalyticsRollupJob starts the queue on a store with a conversation
// three days ago and, when today has a complete hour yet, one in it: the
// periodic rollup job runs on start and rolls up the recent past days and
// today's complete hours, so the Analytics page finds them done.
func TestAnalyticsRollupJob(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st, url := openStore(t, d)
			at := time.Now().UTC().AddDate(0, 0, -3)
			if _, err := st.CreateConversation(t.Context(), models.Conversation{Name: "Past", CreatedAt: at, UpdatedAt: at}, nil); err != nil {
				t.Fatal(err)
			}
			// The hour before the last one complete for the rollups' 10-minute
			// grace, if it is today.
			now := time.Now().UTC()
			hour := now.Add(-10 * time.Minute).Truncate(time.Hour).Add(-time.Hour)
			earlier := !hour.Before(now.Truncate(24 * time.Hour))
			if earlier {
				h := hour.Add(30 * time.Minute)
				if _, err := st.CreateConversation(t.Context(), models.Conversation{Name: "Earlier today", CreatedAt: h, UpdatedAt: h}, nil); err != nil {
					t.Fatal(err)
				}
			}
			startQueue(t, st, url, newRecorder())
			wait := func(table, where, key string) {
				t.Helper()
				deadline := time.Now().Add(15 * time.Second)
				for {
					var n int64
					if err := st.DB().Table(table).Where(where+" = ? AND conversations = 1", key).Count(&n).Error; err != nil {
						t.Fatal(err)
					}
					if n == 1 {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s %s not rolled up by the job", where, key)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			wait("analytics_rollups", "day", at.Format(time.DateOnly))
			if earlier {
				wait("analytics_hour_rollups", "hour", hour.Format("2006-01-02T15"))
			}
			var dirty int64
			if err := st.DB().Table("analytics_dirty_days").Count(&dirty).Error; err != nil || dirty != 0 {
				t.Errorf("dirty days after the job = %d, %v; want 0", dirty, err)
			}
		})
	}
}
