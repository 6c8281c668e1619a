package jobs_test

import (
	"testing"
	"time"

	"parley/models"
	"parley/models/store/storetest"
)

// TestAnalyticsRollupJob starts the queue on a store with a conversation
// three days ago: the periodic rollup job runs on start and rolls up the
// recent past days, so the Analytics page finds them done.
func TestAnalyticsRollupJob(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			st, url := openStore(t, d)
			at := time.Now().UTC().AddDate(0, 0, -3)
			if _, err := st.CreateConversation(t.Context(), models.Conversation{Name: "Past", CreatedAt: at, UpdatedAt: at}, nil); err != nil {
				t.Fatal(err)
			}
			startQueue(t, st, url, newRecorder())
			day := at.Format(time.DateOnly)
			deadline := time.Now().Add(15 * time.Second)
			for {
				var n int64
				if err := st.DB().Table("analytics_rollups").Where("day = ? AND conversations = 1", day).Count(&n).Error; err != nil {
					t.Fatal(err)
				}
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("day %s not rolled up by the job", day)
				}
				time.Sleep(50 * time.Millisecond)
			}
			var dirty int64
			if err := st.DB().Table("analytics_dirty_days").Count(&dirty).Error; err != nil || dirty != 0 {
				t.Errorf("dirty days after the job = %d, %v; want 0", dirty, err)
			}
		})
	}
}
