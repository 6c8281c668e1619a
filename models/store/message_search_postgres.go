package store

import (
	"context"
	"strings"
	"sync"
	"time"

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

// searchIndexFirstRows is how many matches a search may be estimated to have
// and still read them all from the GIN index first: sorting a few thousand
// matches costs less than walking the newest searchWindow messages, which
// a word that rare would not fill a page of anyway.
const searchIndexFirstRows = searchWindow / 4

// searchMessagesPostgres finds a page of hits. A word the term statistics
// say is rare (see searchEstimate) is read from the GIN index straight
// away. Otherwise in two tries: first among the newest searchWindow
// messages, walked newest first (the primary key, then each row's vector
// checked): if they hold a full page, it is the answer, as every later
// match is older. Otherwise the word is rare after all, and every match is
// read from the GIN index and sorted, with PostgreSQL kept from walking the
// table (SET LOCAL, this transaction only): its planner takes a word missing
// from its statistics for a fairly common one, and walking a million
// messages for a word none of them has takes seconds. Both plans give the
// same page; the estimate only picks the faster.
func (s *Store) searchMessagesPostgres(ctx context.Context, f models.MessageSearch, terms []string) ([]models.MessageHit, string, error) {
	p := f.Page.Normalize()
	window := s.conn(ctx).Table("messages").Order("id DESC").Limit(searchWindow)
	if p.Order == models.OrderAsc {
		window = nil // oldest first: no window of the newest
	} else if p.Cursor != "" {
		window = window.Where("id < ?", p.Cursor)
	}
	if window != nil {
		if n, ok := s.searchEstimate(ctx, terms); ok && n <= searchIndexFirstRows {
			window = nil
		}
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
		// No parallel workers either: starting them costs more than sorting
		// a rare word's few matches.
		for _, q := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off", "SET LOCAL max_parallel_workers_per_gather = 0"} {
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

// termStatsTTL is how long the term statistics read from pg_stats are
// used before they are read again: ANALYZE (autovacuum's) renews them a
// few times a day at most.
const termStatsTTL = 10 * time.Minute

// messageTermStats are the term statistics ANALYZE keeps for messages.search, as
// the planner reads them: the most common lexemes with the share of
// messages holding each, the lowest share tracked, and the table's rows.
type messageTermStats struct {
	freq    map[string]float64
	minFreq float64
	rows    float64
	read    time.Time
}

// messageTermStatsCache holds the last messageTermStats read.
type messageTermStatsCache struct {
	mu sync.Mutex
	ts *messageTermStats
}

// termStatsSQL reads messageTermStats, a row per most common element of
// messages.search with its frequency, the lowest frequency tracked (the
// frequencies are followed by the lowest, the highest and the null share)
// and the table's estimated rows.
const termStatsSQL = `SELECT u.e AS lexeme, u.f AS freq,
  s.most_common_elem_freqs[cardinality(s.most_common_elems) + 1]::float8 AS min_freq, c.reltuples::float8 AS rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = 'search',
unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs::float8[]) AS u(e, f)
WHERE c.oid = to_regclass('messages') AND u.e IS NOT NULL`

// termStatistics returns the cached term statistics, read again when
// older than termStatsTTL; nil when there are none (never analyzed).
func (s *Store) termStatistics(ctx context.Context) *messageTermStats {
	s.msgStats.mu.Lock()
	defer s.msgStats.mu.Unlock()
	now := time.Now()
	if ts := s.msgStats.ts; ts != nil && now.Sub(ts.read) < termStatsTTL {
		if ts.freq == nil {
			return nil
		}
		return ts
	}
	var rows []struct {
		Lexeme  string
		Freq    float64
		MinFreq *float64
		Rows    float64
	}
	ts := &messageTermStats{read: now}
	if err := s.conn(ctx).Raw(termStatsSQL).Scan(&rows).Error; err == nil && len(rows) > 0 && rows[0].MinFreq != nil {
		ts.freq = make(map[string]float64, len(rows))
		for _, r := range rows {
			ts.freq[r.Lexeme] = r.Freq
		}
		ts.minFreq, ts.rows = *rows[0].MinFreq, rows[0].Rows
	}
	s.msgStats.ts = ts // none (freq nil) is kept too: asked again after the TTL
	if ts.freq == nil {
		return nil
	}
	return ts
}

// searchEstimate estimates from the term statistics how many messages have
// every lexeme of the words, as the planner would: the table's rows times
// the frequency of the rarest lexeme, a lexeme below the tracked ones
// counted at half the lowest tracked frequency. False when there is no
// estimate (no statistics yet, no lexeme, a failed look-up): the search
// then takes its two tries.
func (s *Store) searchEstimate(ctx context.Context, terms []string) (float64, bool) {
	ts := s.termStatistics(ctx)
	if ts == nil {
		return 0, false
	}
	var lexemes []string
	if err := s.conn(ctx).Raw("SELECT unnest(tsvector_to_array(to_tsvector('english', ?)))", strings.Join(terms, " ")).Scan(&lexemes).Error; err != nil || len(lexemes) == 0 {
		return 0, false
	}
	rarest := 1.0
	for _, l := range lexemes {
		f, ok := ts.freq[l]
		if !ok {
			f = ts.minFreq / 2
		}
		rarest = min(rarest, f)
	}
	return rarest * ts.rows, true
}
