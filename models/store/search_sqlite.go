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
//
// How many of the terms each hit contains is counted afterwards, by
// searchSQLiteMatched.
func (s *Store) searchSQLite(ctx context.Context, datasetIDs, terms []string, c searchCandidates, pool int) ([]searchHit, error) {
	parts := make([]string, len(c.groups))
	for i, g := range c.groups {
		parts[i] = "(" + ftsJoin(g, " AND ") + ")"
	}
	match := strings.Join(parts, " OR ")
	limit := ""
	args := []any{match, datasetIDs}
	if c.limit > 0 {
		limit = " LIMIT ?"
		args = append(args, c.limit)
	}
	args = append(args, pool)
	sql := `SELECT c.rid, r.id, r.dataset_id, r.text, r.source, r.meta, r.created_at, r.updated_at,
		-c.bm AS relevance
	FROM (
		SELECT rid, bm FROM (
			SELECT dataset_records_fts.rowid AS rid, bm25(dataset_records_fts) AS bm, d.id AS did
			FROM dataset_records_fts CROSS JOIN dataset_records AS d
			WHERE dataset_records_fts MATCH ? AND d.rowid = dataset_records_fts.rowid AND d.dataset_id IN ?` + limit + `
		)
		ORDER BY bm, did
		LIMIT ?
	) AS c JOIN dataset_records AS r ON r.rowid = c.rid`
	var rows []sqliteHit
	if err := s.conn(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, err
	}
	if err := s.searchSQLiteMatched(ctx, terms, rows); err != nil {
		return nil, err
	}
	hits := make([]searchHit, len(rows))
	for i, r := range rows {
		hits[i] = r.Hit
	}
	return hits, nil
}

// sqliteHit is a searchHit with its record's rowid in dataset_records_fts.
type sqliteHit struct {
	Hit searchHit `gorm:"embedded"`
	Rid int64
}

// searchSQLiteMatched sets how many of the terms each hit contains, as
// dataset_records_fts would match them: what FTS5 indexed for a hit is its
// text and source tokenized by tokenize='porter unicode61', which
// ftsEachToken reproduces for ASCII text, so for an ASCII term and an ASCII
// record the count comes from the record's own text. Only a term or a
// record that is not ASCII is looked up in the index, with one MATCH per
// such term, restricted to the rowids of the hits it is looked for in:
// probing the index once per hit and term costs some 50µs each, hundreds of
// them a search.
func (s *Store) searchSQLiteMatched(ctx context.Context, terms []string, hits []sqliteHit) error {
	toks := make([]string, len(terms))
	ascii := make([]bool, len(terms))
	for i, t := range terms {
		toks[i], ascii[i] = ftsTerm(t)
	}
	probe := make([][]int64, len(terms)) // probe[i]: rowids to look terms[i] up in
	byRid := make(map[int64]*sqliteHit, len(hits))
	found := make([]bool, len(terms))
	// could skips stemming the words that cannot stem to any term's token:
	// a stem is never longer than its word and starts with the same letter.
	could := func(word []byte) bool {
		for i, t := range toks {
			if ascii[i] && len(word) >= len(t) && word[0] == t[0] {
				return true
			}
		}
		return false
	}
	var buf []byte
	for k := range hits {
		h := &hits[k]
		h.Hit.Matched = 0
		byRid[h.Rid] = h
		if !ftsASCII(h.Hit.Text) || !ftsASCII(h.Hit.Source) {
			for i := range terms {
				probe[i] = append(probe[i], h.Rid)
			}
			continue
		}
		clear(found)
		count := func(tok []byte) {
			for i, t := range toks {
				if ascii[i] && !found[i] && t == string(tok) {
					found[i] = true
				}
			}
		}
		buf = ftsEachToken(h.Hit.Text, buf, could, count)
		buf = ftsEachToken(h.Hit.Source, buf, could, count)
		for i := range terms {
			switch {
			case !ascii[i]:
				probe[i] = append(probe[i], h.Rid)
			case found[i]:
				h.Hit.Matched++
			}
		}
	}
	var parts []string
	var args []any
	for i, rids := range probe {
		if len(rids) > 0 {
			parts = append(parts, `SELECT rowid AS rid FROM dataset_records_fts WHERE dataset_records_fts MATCH ? AND rowid IN ?`)
			args = append(args, ftsQuote(terms[i]), rids)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	var rids []int64
	if err := s.conn(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rids).Error; err != nil {
		return err
	}
	for _, rid := range rids {
		if h := byRid[rid]; h != nil {
			h.Hit.Matched++
		}
	}
	return nil
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
