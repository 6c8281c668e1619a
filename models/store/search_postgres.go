package store

import (
	"context"
	"strings"
)

// pgSearchConfig is the text search configuration of dataset_records.search
// (migration 2); queries must be parsed with the same one.
const pgSearchConfig = "english"

// pgRankScale brings ts_rank_cd (about 0.1 per occurrence of a searched word,
// divided by 1 + log of the record's length) to the scale of SQLite's bm25, so
// a score means about the same on both databases: measured on the FAQ records
// of search_test.go and on the 100,000 records of search_bench_test.go, the
// scores of the best records differ by a few hundredths with 30.
const pgRankScale = 30

// searchPostgres returns up to pool records of the datasets containing any of
// the terms, by ts_rank_cd. Each term is bound, never interpolated:
// plainto_tsquery ignores any syntax in it, and the OR of the terms' queries
// is built with the tsquery || operator.
func (s *Store) searchPostgres(ctx context.Context, datasetIDs, terms []string, pool int) ([]searchHit, error) {
	one := "plainto_tsquery('" + pgSearchConfig + "', ?)"
	anyTerm := strings.Repeat(one+" || ", len(terms)-1) + one
	matched := strings.Repeat("(r.search @@ "+one+")::int + ", len(terms)-1) + "(r.search @@ " + one + ")::int"
	sql := `SELECT r.id, r.dataset_id, r.text, r.source, r.meta, r.created_at, r.updated_at,
		c.relevance, ` + matched + ` AS matched
	FROM (
		SELECT d.id, ? * ts_rank_cd(d.search, query.q, 1) AS relevance
		FROM dataset_records AS d CROSS JOIN (SELECT ` + anyTerm + ` AS q) AS query
		WHERE d.dataset_id IN ? AND d.search @@ query.q
		ORDER BY relevance DESC, d.id
		LIMIT ?
	) AS c JOIN dataset_records AS r ON r.id = c.id`
	args := make([]any, 0, 2*len(terms)+3)
	for _, t := range terms {
		args = append(args, t)
	}
	args = append(args, pgRankScale)
	for _, t := range terms {
		args = append(args, t)
	}
	args = append(args, datasetIDs, pool)
	var hits []searchHit
	err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&hits).Error
	return hits, err
}
