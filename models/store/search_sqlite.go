package store

import (
	"context"
	"strconv"
	"strings"
)

// searchSQLite ranks the candidates c by FTS5's bm25 (negative, lower is
// better: relevance is its negation) and returns the best pool of them. The
// query is bound, never interpolated, and each term in it is a quoted string,
// so words such as NEAR, OR or NOT and characters such as *, - or ( are
// searched for as text rather than read as query syntax.
//
// bm25 weighs the words of the MATCH expression, the candidates' words: its
// statistics walk every record containing each of them once per query, so a
// common word left out of it costs nothing. With c.limit, the first c.limit
// candidates (by rowid) are ranked.
//
// CROSS JOIN makes SQLite walk the full-text matches and look each one's
// record up, never the other way round: probing the index with MATCH once per
// record of a large dataset is some thousand times slower, and SQLite's planner
// picks that order by itself for some shapes of this query.
func (s *Store) searchSQLite(ctx context.Context, datasetIDs, terms []string, c searchCandidates, pool int) ([]searchHit, error) {
	matched := strings.Repeat("EXISTS (SELECT 1 FROM dataset_records_fts WHERE dataset_records_fts MATCH ? AND rowid = c.rid) + ", len(terms)-1) +
		"EXISTS (SELECT 1 FROM dataset_records_fts WHERE dataset_records_fts MATCH ? AND rowid = c.rid)"
	parts := make([]string, len(c.groups))
	for i, g := range c.groups {
		parts[i] = "(" + ftsJoin(g, " AND ") + ")"
	}
	match := strings.Join(parts, " OR ")
	limit := ""
	args := make([]any, 0, len(terms)+4)
	for _, t := range terms {
		args = append(args, ftsQuote(t))
	}
	args = append(args, match, datasetIDs)
	if c.limit > 0 {
		limit = " LIMIT ?"
		args = append(args, c.limit)
	}
	args = append(args, pool)
	sql := `SELECT r.id, r.dataset_id, r.text, r.source, r.meta, r.created_at, r.updated_at,
		-c.bm AS relevance, ` + matched + ` AS matched
	FROM (
		SELECT rid, bm FROM (
			SELECT dataset_records_fts.rowid AS rid, bm25(dataset_records_fts) AS bm, d.id AS did
			FROM dataset_records_fts CROSS JOIN dataset_records AS d
			WHERE dataset_records_fts MATCH ? AND d.rowid = dataset_records_fts.rowid AND d.dataset_id IN ?` + limit + `
		)
		ORDER BY bm, did
		LIMIT ?
	) AS c JOIN dataset_records AS r ON r.rowid = c.rid`
	var hits []searchHit
	err := s.conn(ctx).Raw(sql, args...).Scan(&hits).Error
	return hits, err
}

// searchStatCap is how many records containing a word SQLite's statistics
// count before estimating.
const searchStatCap = 1000

// searchSQLiteTermStats reads the terms' statistics from the FTS5 index
// itself, which tokenizes them as it tokenized the records: each term's
// matching rowids are counted, in rowid order, up to searchStatCap; past it,
// the count is estimated from how far into the rowids the cap was reached
// (records × last rowid / rowid of the cap-th match). The index spans every
// dataset, so these counts are over all of them; total is the datasets' own
// record count, counted up to searchExactRecords+1. Each term costs at most
// searchStatCap steps through its index entries.
func (s *Store) searchSQLiteTermStats(ctx context.Context, datasetIDs, terms []string) (termStats, error) {
	parts := make([]string, 0, len(terms)+2)
	args := make([]any, 0, 2*len(terms)+2)
	for i, t := range terms {
		parts = append(parts, `SELECT `+strconv.Itoa(i+1)+` AS i, count(*) AS n, coalesce(max(rid), 0) AS last FROM (
			SELECT rowid AS rid FROM dataset_records_fts WHERE dataset_records_fts MATCH ? LIMIT ?)`)
		args = append(args, ftsQuote(t), searchStatCap)
	}
	parts = append(parts, `SELECT 0, count(*), 0 FROM (SELECT 1 FROM dataset_records WHERE dataset_id IN ? LIMIT ?)`,
		`SELECT -1, coalesce(max(rowid), 0), 0 FROM dataset_records`)
	args = append(args, datasetIDs, searchExactRecords+1)
	var rows []struct {
		I    int
		N    int64
		Last int64
	}
	if err := s.conn(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
		return termStats{}, err
	}
	st := termStats{records: make([]int64, len(terms))}
	var maxRowid int64
	for _, r := range rows {
		if r.I == -1 {
			maxRowid = r.N
		}
	}
	for _, r := range rows {
		switch {
		case r.I == 0:
			st.total = r.N
		case r.I > 0 && r.I <= len(terms):
			n := r.N
			if n >= searchStatCap && r.Last > 0 {
				n = max(n, n*maxRowid/r.Last)
			}
			st.records[r.I-1] = n
		}
	}
	if st.total > searchExactRecords {
		st.total = max(st.total, maxRowid)
	}
	return st, nil
}

// ftsJoin quotes each term and joins them with op (" OR ", " AND ").
func ftsJoin(terms []string, op string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = ftsQuote(t)
	}
	return strings.Join(quoted, op)
}

// ftsQuote makes s an FTS5 string: in double quotes, inner ones doubled.
func ftsQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
