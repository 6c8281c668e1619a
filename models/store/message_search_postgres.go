package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// messageMatchPostgres keeps the messages whose search vector (migration 12,
// the 'english' configuration) has every term. The terms are bound, never
// interpolated; plainto_tsquery reads no syntax in them.
func messageMatchPostgres(q *gorm.DB, terms []string) *gorm.DB {
	return q.Where("m.search @@ plainto_tsquery('english', ?)", strings.Join(terms, " "))
}

// searchWindow is how many of the newest messages (below the cursor) a
// search reads first: a word that fills a page among them is common enough
// that walking the newest messages is the fastest plan.
const searchWindow = 20_000

// searchMessagesPostgres finds a page of hits in two tries. First among the newest
// searchWindow messages, walked newest first (the primary key, then each
// row's vector checked): if they hold a full page, it is the answer, as
// every later match is older. Otherwise the word is rare, and every match is
// read from the GIN index and sorted, with PostgreSQL kept from walking the
// table (SET LOCAL, this transaction only): its planner takes a word missing
// from its statistics for a fairly common one, and walking a million
// messages for a word none of them has takes seconds.
func (s *Store) searchMessagesPostgres(ctx context.Context, f models.MessageSearch, terms []string) ([]models.MessageHit, string, error) {
	p := f.Page.Normalize()
	window := s.conn(ctx).Table("messages").Order("id DESC").Limit(searchWindow)
	if p.Order == models.OrderAsc {
		window = nil // oldest first: no window of the newest
	} else if p.Cursor != "" {
		window = window.Where("id < ?", p.Cursor)
	}
	if window != nil {
		hits, next, err := s.searchMessages(s.conn(ctx).Table("(?) AS m", window), f, terms)
		if err != nil || len(hits) == p.Limit && next != "" {
			return hits, next, err
		}
	}
	var hits []models.MessageHit
	var next string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		for _, q := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off"} {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
		var err error
		hits, next, err = s.searchMessages(tx.Table("messages AS m"), f, terms)
		return err
	})
	return hits, next, err
}
