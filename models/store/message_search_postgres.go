package store

import (
	"strings"

	"gorm.io/gorm"
)

// messageMatchPostgres keeps the messages whose search vector (migration 12,
// the 'english' configuration) has every term. The terms are bound, never
// interpolated; plainto_tsquery reads no syntax in them.
func messageMatchPostgres(q *gorm.DB, terms []string) *gorm.DB {
	return q.Where("m.search @@ plainto_tsquery('english', ?)", strings.Join(terms, " "))
}

// rareSearchHits is where a search stops being rare: below it, reading every
// match from the GIN index and sorting them is fastest; from it on, walking
// the messages newest first and checking each finds a page sooner.
const rareSearchHits = 2000

// planPostgresSearch picks the plan of a search in tx: it counts the matches
// (up to rareSearchHits) from the GIN index alone, and when they are few,
// keeps PostgreSQL from walking the messages by id (SET LOCAL, this
// transaction only). The planner cannot tell by itself: it estimates a word
// missing from its statistics as fairly common, and walking a million
// messages for a word none of them has takes seconds.
func planPostgresSearch(tx *gorm.DB, terms []string) error {
	q := strings.Join(terms, " ")
	if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
		return err
	}
	if err := tx.Exec("SET LOCAL enable_indexscan = off").Error; err != nil {
		return err
	}
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM (SELECT 1 FROM messages WHERE search @@ plainto_tsquery('english', ?) LIMIT ?) AS hit`, q, rareSearchHits).
		Scan(&n).Error; err != nil {
		return err
	}
	if n >= rareSearchHits {
		// Common: let the planner walk the messages newest first again.
		if err := tx.Exec("SET LOCAL enable_seqscan = on").Error; err != nil {
			return err
		}
		return tx.Exec("SET LOCAL enable_indexscan = on").Error
	}
	return nil
}
