package store_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// rateLimitRow is one counter of the rate_limits table.
type rateLimitRow struct {
	Bucket      string
	WindowStart time.Time
	Count       int
}

// rateLimitRows returns a bucket's counters, oldest window first.
func rateLimitRows(t *testing.T, s *store.Store, bucket string) []rateLimitRow {
	t.Helper()
	var rows []rateLimitRow
	if err := s.DB().Table("rate_limits").Where("bucket = ?", bucket).Order("window_start").Find(&rows).Error; err != nil {
		t.Fatalf("read rate_limits: %v", err)
	}
	return rows
}

// mustHit hits bucket and fails the test unless the answer is want (and, when
// denied, retryAfter is wantRetry).
func mustHit(t *testing.T, s *store.Store, bucket string, limit int, window time.Duration, want bool, wantRetry time.Duration) {
	t.Helper()
	ok, retry, err := s.Hit(t.Context(), bucket, limit, window)
	if err != nil {
		t.Fatalf("Hit(%q): %v", bucket, err)
	}
	if ok != want || retry != wantRetry {
		t.Fatalf("Hit(%q) = %v, %v; want %v, %v", bucket, ok, retry, want, wantRetry)
	}
}

func TestHit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s) // 05:06:07 UTC: 53s left in the minute

		t.Run("Limit", func(t *testing.T) {
			for range 3 {
				mustHit(t, s, "limit", 3, time.Minute, true, 0)
			}
			ok, retry, err := s.Hit(t.Context(), "limit", 3, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok || retry < time.Second || retry > time.Minute {
				t.Fatalf("4th hit = %v, %v; want denied, retry between 1s and 1m", ok, retry)
			}
			if retry != 53*time.Second {
				t.Errorf("retryAfter = %v, want 53s (the rest of the minute)", retry)
			}
			clk.Advance(500 * time.Millisecond)
			mustHit(t, s, "limit", 3, time.Minute, false, 53*time.Second) // 52.5s rounds up
			clk.Advance(52*time.Second + 400*time.Millisecond)
			mustHit(t, s, "limit", 3, time.Minute, false, time.Second) // 0.1s rounds up to 1s
			clk.Advance(100 * time.Millisecond)                        // the next minute
			for range 3 {
				mustHit(t, s, "limit", 3, time.Minute, true, 0)
			}
			mustHit(t, s, "limit", 3, time.Minute, false, time.Minute)
		})
		t.Run("BucketsIndependent", func(t *testing.T) {
			mustHit(t, s, "ip:203.0.113.5", 1, time.Minute, true, 0)
			ok, _, err := s.Hit(t.Context(), "ip:203.0.113.5", 1, time.Minute)
			if err != nil || ok {
				t.Fatalf("second hit on a limit of 1 = %v, %v; want denied", ok, err)
			}
			mustHit(t, s, "ip:203.0.113.6", 1, time.Minute, true, 0)
			mustHit(t, s, "IP:203.0.113.5", 1, time.Minute, true, 0) // buckets are case-sensitive
		})
		t.Run("Concurrent", func(t *testing.T) {
			var allowed, denied atomic.Int32
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for range 50 {
				wg.Go(func() {
					ok, _, err := s.Hit(t.Context(), "burst", 20, time.Hour)
					switch {
					case err != nil:
						errs <- err
					case ok:
						allowed.Add(1)
					default:
						denied.Add(1)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Hit: %v", err)
			}
			if allowed.Load() != 20 || denied.Load() != 30 {
				t.Errorf("allowed %d, denied %d; want exactly 20 and 30", allowed.Load(), denied.Load())
			}
			if rows := rateLimitRows(t, s, "burst"); len(rows) != 1 || rows[0].Count != 50 {
				t.Errorf("rows = %+v, want one counter of 50", rows)
			}
		})
		t.Run("WindowsFromUnixEpoch", func(t *testing.T) {
			// 7s windows do not divide a minute: they count from the Unix epoch.
			now := clk.Now()
			u := now.Unix()
			want := time.Unix(u-u%7, 0).UTC()
			ok, _, err := s.Hit(t.Context(), "odd", 5, 7*time.Second)
			if err != nil || !ok {
				t.Fatalf("Hit = %v, %v", ok, err)
			}
			rows := rateLimitRows(t, s, "odd")
			if len(rows) != 1 || !rows[0].WindowStart.Equal(want) || rows[0].Count != 1 {
				t.Fatalf("rows = %+v, want one counter of 1 from %v", rows, want)
			}
			if loc := rows[0].WindowStart.Location(); loc != time.UTC && s.Dialect() == store.SQLite {
				t.Errorf("window_start read back in %v, want UTC", loc)
			}
			// The timestamp is stored as UTC: the database itself agrees on the instant.
			if n := count(t, s, "rate_limits", "bucket = ? AND window_start = ?", "odd", want); n != 1 {
				t.Errorf("rows matching window_start %v = %d, want 1", want, n)
			}
		})
		t.Run("OldWindowsOfBucketRemoved", func(t *testing.T) {
			mustHit(t, s, "roll", 5, time.Minute, true, 0)
			mustHit(t, s, "still", 5, time.Minute, true, 0)
			clk.Advance(time.Minute)
			mustHit(t, s, "roll", 5, time.Minute, true, 0)
			rows := rateLimitRows(t, s, "roll")
			if len(rows) != 1 || rows[0].Count != 1 || !rows[0].WindowStart.Equal(clk.Now().Truncate(time.Minute)) {
				t.Errorf("rows = %+v, want only the current window's counter", rows)
			}
			if rows := rateLimitRows(t, s, "still"); len(rows) != 1 {
				t.Errorf("another bucket's rows = %+v, want its window kept (it is recent)", rows)
			}
		})
		t.Run("StaleWindowsPurged", func(t *testing.T) {
			insert := func(bucket string, age time.Duration) {
				t.Helper()
				start := clk.Now().Add(-age).Truncate(time.Minute)
				if err := s.DB().Exec(`INSERT INTO rate_limits (bucket, window_start, "count") VALUES (?, ?, 1)`, bucket, start).Error; err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(2 * time.Minute) // whatever earlier hits did, a purge is due
			insert("stale", 48*time.Hour)
			insert("recent", 23*time.Hour)
			mustHit(t, s, "p1", 5, time.Minute, true, 0)
			if n := count(t, s, "rate_limits", "bucket = ?", "stale"); n != 0 {
				t.Errorf("a 48h-old window survived the purge")
			}
			if n := count(t, s, "rate_limits", "bucket = ?", "recent"); n != 1 {
				t.Errorf("a 23h-old window was purged")
			}

			// At most one purge a minute per store.
			insert("stale", 48*time.Hour)
			clk.Advance(30 * time.Second)
			mustHit(t, s, "p2", 5, time.Minute, true, 0)
			if n := count(t, s, "rate_limits", "bucket = ?", "stale"); n != 1 {
				t.Errorf("purged again 30s after the last purge")
			}
			clk.Advance(31 * time.Second)
			mustHit(t, s, "p3", 5, time.Minute, true, 0)
			if n := count(t, s, "rate_limits", "bucket = ?", "stale"); n != 0 {
				t.Errorf("not purged again a minute after the last purge")
			}
		})
		t.Run("OddBuckets", func(t *testing.T) {
			long := strings.Repeat("b", 300)
			for _, b := range []string{long + "1", long + "2", strings.Repeat("é", 150) + "x", "caf\xe9", "nul\x00byte", ""} {
				mustHit(t, s, b, 1, time.Minute, true, 0)
				ok, _, err := s.Hit(t.Context(), b, 1, time.Minute)
				if err != nil || ok {
					t.Errorf("second hit on %q = %v, %v; want denied", b, ok, err)
				}
			}
		})
		t.Run("ErrWindow", func(t *testing.T) {
			_, _, err := s.Hit(t.Context(), "w", 1, 0)
			wantCode(t, err, models.CodeInvalid)
		})
	})
}
