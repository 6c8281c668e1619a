package store

import (
	"context"
	"strings"
)

// searchSQLite returns up to pool records of the datasets containing any of
// the terms, by FTS5's bm25 (negative, lower is better: relevance is its
// negation). The query is bound, never interpolated, and each term in it is
// a quoted string, so words such as NEAR, OR or NOT and characters such as *,
// - or ( are searched for as text rather than read as query syntax.
//
// CROSS JOIN makes SQLite walk the full-text matches and look each one's
// record up, never the other way round: probing the index with MATCH once per
// record of a large dataset is some thousand times slower, and SQLite's planner
// picks that order by itself for some shapes of this query.
func (s *Store) searchSQLite(ctx context.Context, datasetIDs, terms []string, pool int) ([]searchHit, error) {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = ftsQuote(t)
	}
	matched := strings.Repeat("EXISTS (SELECT 1 FROM dataset_records_fts WHERE dataset_records_fts MATCH ? AND rowid = c.rid) + ", len(terms)-1) +
		"EXISTS (SELECT 1 FROM dataset_records_fts WHERE dataset_records_fts MATCH ? AND rowid = c.rid)"
	sql := `SELECT r.id, r.dataset_id, r.text, r.source, r.meta, r.created_at, r.updated_at,
		-c.bm AS relevance, ` + matched + ` AS matched
	FROM (
		SELECT dataset_records_fts.rowid AS rid, bm25(dataset_records_fts) AS bm
		FROM dataset_records_fts CROSS JOIN dataset_records AS d
		WHERE dataset_records_fts MATCH ? AND d.rowid = dataset_records_fts.rowid AND d.dataset_id IN ?
		ORDER BY bm, d.id
		LIMIT ?
	) AS c JOIN dataset_records AS r ON r.rowid = c.rid`
	args := make([]any, 0, len(terms)+3)
	for _, q := range quoted {
		args = append(args, q)
	}
	args = append(args, strings.Join(quoted, " OR "), datasetIDs, pool)
	var hits []searchHit
	err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&hits).Error
	return hits, err
}

// ftsQuote makes s an FTS5 string: in double quotes, inner ones doubled.
func ftsQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
