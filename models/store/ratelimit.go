package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"parley/models"
)

// Rate-limit housekeeping: windows older than rateLimitKeep are deleted, by
// each store at most once per rateLimitPurgeEvery.
const (
	rateLimitKeep       = 24 * time.Hour
	rateLimitPurgeEvery = time.Minute
	rateLimitBucketSize = 200 // the rate_limits.bucket column's size
)

// Hit counts one hit on bucket in the current fixed window (the store clock
// truncated to window, from the Unix epoch), shared by every instance on the
// database, and reports whether it is within limit and, when it is not, the
// time left in the window rounded up to whole seconds.
func (s *Store) Hit(ctx context.Context, bucket string, limit int, window time.Duration) (allowed bool, retryAfter time.Duration, err error) {
	if window <= 0 {
		return false, 0, models.Errorf(models.CodeInvalid, "A rate limit's window must be positive.")
	}
	bucket = rateLimitBucket(bucket)
	now := s.now()
	start := windowStart(now, window)
	db := s.lazyConn(ctx) // a count lost in a database crash costs nothing

	// One statement, so concurrent hits on any instance never lose a count.
	var n int64
	err = db.Raw(`INSERT INTO rate_limits (bucket, window_start, "count") VALUES (?, ?, 1)
ON CONFLICT (bucket, window_start) DO UPDATE SET "count" = rate_limits."count" + 1
RETURNING "count"`, bucket, start).Scan(&n).Error
	if err != nil {
		return false, 0, translate(err, "rate limit")
	}
	allowed, retryAfter = s.counted(db, bucket, start, now, n, limit, window)
	return allowed, retryAfter, nil
}

// counted ends a hit that made bucket's count n in the window starting at
// start: the housekeeping of a window's first hit, and the verdict.
func (s *Store) counted(db *gorm.DB, bucket string, start, now time.Time, n int64, limit int, window time.Duration) (bool, time.Duration) {
	if n == 1 {
		// The first hit of a window: drop the bucket's past windows and, now
		// and then, every bucket's stale ones. Best effort: a failure here
		// (a cancelled request, a deadlock between two purges) only delays it.
		db.Exec("DELETE FROM rate_limits WHERE bucket = ? AND window_start < ?", bucket, start)
		if s.purgeDue(now) {
			db.Exec("DELETE FROM rate_limits WHERE window_start < ?", now.Add(-rateLimitKeep))
		}
	}
	if n <= int64(limit) {
		return true, 0
	}
	left := start.Add(window).Sub(now)
	retryAfter := (left + time.Second - 1) / time.Second * time.Second
	return false, max(retryAfter, time.Second)
}

// windowStart returns the start of the fixed window of length w holding t,
// counting windows from the Unix epoch, in UTC.
func windowStart(t time.Time, w time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-ns%int64(w)).UTC().Truncate(time.Microsecond)
}

// rateLimitBucket returns bucket as the database can keep it: a name too long
// for the column, or one PostgreSQL's text rejects (invalid UTF-8, NUL), is
// replaced by a readable prefix and its hash, which stay distinct per name.
func rateLimitBucket(bucket string) string {
	if len(bucket) <= rateLimitBucketSize && utf8.ValidString(bucket) && !strings.ContainsRune(bucket, 0) {
		return bucket
	}
	hash := models.HashToken(bucket) // 64 characters
	prefix := strings.ToValidUTF8(strings.ReplaceAll(bucket, "\x00", ""), "")
	return models.TruncateUTF8(prefix, rateLimitBucketSize-len(hash)-1) + "#" + hash
}

// purgeDue reports whether this store should purge every bucket's stale
// windows now, claiming the purge when it should: at most once per
// rateLimitPurgeEvery, or at once if the clock moved back that far.
func (s *Store) purgeDue(now time.Time) bool {
	prev := s.lastPurge.Load()
	if d := now.UnixNano() - prev; prev != 0 && d < int64(rateLimitPurgeEvery) && d > -int64(rateLimitPurgeEvery) {
		return false
	}
	return s.lastPurge.CompareAndSwap(prev, now.UnixNano())
}
