package store

import (
	"context"
	"strconv"
	"strings"

	"parley/models"
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

// pgTsquery is one term as a tsquery, bound, never interpolated:
// plainto_tsquery ignores any syntax in it.
const pgTsquery = "plainto_tsquery('" + pgSearchConfig + "', ?)"

// pgJoin combines one pgTsquery per term with op (|| or &&) and appends the
// terms to args.
func pgJoin(terms []string, op string, args []any) (string, []any) {
	for _, t := range terms {
		args = append(args, t)
	}
	return strings.Repeat(pgTsquery+" "+op+" ", len(terms)-1) + pgTsquery, args
}

// searchPostgres ranks the candidates c by ts_rank_cd against ANY of the
// terms and returns the best pool of them. The candidates are found through
// the GIN index; with c.limit, the first c.limit of them are ranked.
func (s *Store) searchPostgres(ctx context.Context, datasetIDs, terms []string, c searchCandidates, pool int) ([]searchHit, error) {
	args := make([]any, 0, 3*len(terms)+5)
	matched := strings.Repeat("(r.search @@ "+pgTsquery+")::int + ", len(terms)-1) + "(r.search @@ " + pgTsquery + ")::int"
	for _, t := range terms {
		args = append(args, t)
	}
	args = append(args, datasetIDs, pgRankScale) // the stamp's, then the rank's
	var anyTerm, cand string
	anyTerm, args = pgJoin(terms, "||", args)
	args = append(args, datasetIDs)
	parts := make([]string, len(c.groups))
	for i, g := range c.groups {
		parts[i], args = pgJoin(g, "&&", args)
		parts[i] = "(" + parts[i] + ")"
	}
	cand = strings.Join(parts, " || ")
	limit := ""
	if c.limit > 0 {
		limit = " LIMIT ?"
		args = append(args, c.limit)
	}
	args = append(args, pool)
	sql := `SELECT r.id, r.dataset_id, r.text, r.source, r.meta, r.created_at, r.updated_at,
		c.relevance, ` + matched + ` AS matched, ` + pgTermStamp + ` AS stamp
	FROM (
		SELECT d.id, ? * ts_rank_cd(d.search, ` + anyTerm + `, 1) AS relevance
		FROM (
			SELECT id, search FROM dataset_records
			WHERE dataset_id IN ? AND search @@ (` + cand + `)` + limit + `
		) AS d
		ORDER BY relevance DESC, d.id
		LIMIT ?
	) AS c JOIN dataset_records AS r ON r.id = c.id`
	var hits []searchHit
	err := s.conn(ctx).Raw(sql, args...).Scan(&hits).Error
	return hits, err
}

// searchPostgresTermStats reads the terms' statistics from dataset_terms
// (migration 9): a term's records are its lexeme's, summed over the datasets
// (the fewest of its lexemes' when the parser splits it in several; 0 for a
// stop word), and total is the datasets' record count; with the stamp they
// were read at (termStatsCache), which it keeps them under.
func (s *Store) searchPostgresTermStats(ctx context.Context, datasetIDs, terms []string) (termStats, string, error) {
	values := make([]string, len(terms))
	args := make([]any, 0, len(terms)+2)
	for i, t := range terms {
		values[i] = "(" + strconv.Itoa(i+1) + ", ?::text)"
		args = append(args, t)
	}
	args = append(args, datasetIDs, datasetIDs, datasetIDs)
	sql := `SELECT q.i AS i, coalesce(min(x.records), 0) AS records, NULL AS stamp
	FROM (VALUES ` + strings.Join(values, ", ") + `) AS q(i, term)
	LEFT JOIN LATERAL (
		SELECT coalesce((SELECT sum(t.records) FROM dataset_terms AS t
			WHERE t.dataset_id IN ? AND t.term = l.lexeme), 0) AS records
		FROM unnest(to_tsvector('` + pgSearchConfig + `', q.term)) AS l
	) AS x ON true
	GROUP BY q.i
	UNION ALL
	SELECT 0, coalesce(sum(records), 0), ` + pgTermStamp + ` FROM dataset_terms WHERE term = '' AND dataset_id IN ?`
	var rows []struct {
		I       int
		Records int64
		Stamp   *string
	}
	if err := s.conn(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return termStats{}, "", err
	}
	st := termStats{records: make([]int64, len(terms))}
	stamp := ""
	for _, r := range rows {
		if r.I == 0 {
			st.total, stamp = r.Records, models.Deref(r.Stamp)
		} else if r.I <= len(terms) {
			st.records[r.I-1] = r.Records
		}
	}
	s.recordStats.put(datasetIDs, terms, st, stamp)
	return st, stamp, nil
}
