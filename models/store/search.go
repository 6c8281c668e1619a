package store

import (
	"cmp"
	"context"
	"math"
	"slices"

	"parley/models"
)

// searchHit is one candidate record of a search with what the database says
// about it: its relevance (0 or more, higher is better, the dialect's own
// rank brought to a similar scale) and how many of the searched terms it contains.
type searchHit struct {
	models.DatasetRecord `gorm:"embedded"`
	Relevance            float64
	Matched              int
	// Stamp is the stamp of the term statistics as the search saw them
	// (PostgreSQL only, see termStatsCache).
	Stamp string
}

// SearchRecords returns the records of q.DatasetIDs that best answer q.Text,
// best first, at most q.Limit (3 by default), none scoring below q.MinScore.
//
// A question is searched for ANY of its meaningful words (models.SearchTerms),
// since a user's question rarely shares all its words with the record that
// answers it; text with no meaningful word finds nothing. The database ranks
// candidate records (PostgreSQL ts_rank_cd, SQLite FTS5 bm25) and its best
// few are rescored: each one's score is the mean of the share of the
// question's words it contains and its rank r squashed as r/(1+r). The first
// half means the same on both databases and keeps the score meaningful on a
// small dataset, where bm25 rates words found in most records near zero; the
// second tells apart records that contain the same words, by how rare and
// how dense those words are in them.
//
// Which records are candidates is planned from term statistics (how many
// records contain each word, see planSearch), so a search never ranks every
// record that contains "order": in a small dataset, or when the question's
// words are all rare (in searchRareRecords records together), every record
// containing any of them is ranked, as before there were statistics; in a
// large one, the records containing its rare words plus those containing two
// of its next three rarest words (or all of its rarest few, when pairs would
// match too many), at most searchMaxCandidates of them. When that finds fewer
// than q.Limit, the next rarest word's records join them (at most
// searchMaxCandidates).
func (s *Store) SearchRecords(ctx context.Context, q models.RecordQuery) ([]models.ScoredRecord, error) {
	q = q.Normalize()
	out := []models.ScoredRecord{}
	terms := models.SearchTerms(q.Text)
	ids := searchDatasetIDs(q.DatasetIDs)
	if len(terms) == 0 || len(ids) == 0 {
		return out, nil
	}
	pool := min(max(4*q.Limit, 40), 400)
	stats, stamp, cached := s.recordStats.get(ids, terms) // PostgreSQL's only: SQLite's are never kept
	if !cached {
		var err error
		if stats, stamp, err = s.searchTermStats(ctx, ids, terms); err != nil {
			return nil, translate(err, "record search")
		}
	}
	var hits []searchHit
	for {
		plan := planSearch(terms, stats, s.dialect == SQLite)
		hits = nil
		if len(plan.first.groups) > 0 {
			var err error
			if hits, err = s.searchCandidates(ctx, ids, terms, plan.first, pool); err != nil {
				return nil, translate(err, "record search")
			}
			if len(hits) < q.Limit && plan.relaxed != nil {
				more, err := s.searchCandidates(ctx, ids, terms, *plan.relaxed, pool)
				if err != nil {
					return nil, translate(err, "record search")
				}
				hits = mergeHits(hits, more)
			}
		}
		if !cached || (len(hits) >= q.Limit && hits[0].Stamp == stamp) {
			break
		}
		// Planned from cached statistics that may be stale (the records'
		// words changed since, or too little was found): read them again,
		// and search again if they changed.
		cached = false
		fresh, freshStamp, err := s.searchTermStats(ctx, ids, terms)
		if err != nil {
			return nil, translate(err, "record search")
		}
		if freshStamp == stamp && slices.Equal(fresh.records, stats.records) && fresh.total == stats.total {
			break
		}
		stats, stamp = fresh, freshStamp
	}
	scores := make(map[string]float64, len(hits))
	for _, h := range hits {
		scores[h.ID] = searchScore(h, len(terms))
	}
	slices.SortStableFunc(hits, func(a, b searchHit) int {
		return cmp.Or(cmp.Compare(scores[b.ID], scores[a.ID]), cmp.Compare(b.Relevance, a.Relevance), cmp.Compare(a.ID, b.ID))
	})
	for _, h := range hits {
		if len(out) == q.Limit {
			break
		}
		if sc := scores[h.ID]; sc >= q.MinScore {
			out = append(out, models.ScoredRecord{Record: h.DatasetRecord, Score: sc})
		}
	}
	return out, nil
}

// Search planning bounds (see planSearch); variables only so that tests can
// scale them to a smaller dataset (ScaleSearchBounds).
var (
	// searchExactRecords: datasets of at most this many records in all are
	// always searched the exact way, every record with any word ranked.
	searchExactRecords int64 = 1000
	// searchRareRecords bounds the records ranked for the rare words: words
	// are rare, rarest first, while the records containing them add up to at
	// most this many (and if every word is, the search is the exact one).
	searchRareRecords int64 = 150
	// searchAllRecords: records holding two of the next three rarest words
	// are candidates when they are expected (if the words were independent)
	// to be at most this many; otherwise those holding all of the rarest few,
	// as few as expected in at most this many.
	searchAllRecords int64 = 150
	// searchMaxCandidates caps the records ranked by any one query of a
	// search, whatever the statistics promised.
	searchMaxCandidates = 200
)

// termStats are what a search knows of its datasets' words: records[i] is
// how many records contain terms[i] (0: none; on SQLite an estimate over every
// dataset once above searchStatCap), total how many records the datasets have
// (on SQLite: at least how many, up to searchExactRecords+1).
type termStats struct {
	records []int64
	total   int64
}

// searchCandidates is which records one search query ranks: those
// containing all the words of any of the groups; at most limit of them (0:
// no limit).
type searchCandidates struct {
	groups [][]string
	limit  int
}

// searchPlan is a search's candidate queries: first, and relaxed when first
// finds too few records (nil: nothing to relax to).
type searchPlan struct {
	first   searchCandidates
	relaxed *searchCandidates
}

// planSearch decides which records a search ranks from its words' statistics
// (see SearchRecords and the bounds above). Words no record contains are left
// out of the candidate queries (they still count in a record's share of the
// question's words).
//
// A word in more than half of the records is never required (more than a
// tenth with walkCost, on SQLite): requiring it filters little and bm25
// gives it little weight, while SQLite's bm25 walks all of its records.
func planSearch(terms []string, st termStats, walkCost bool) searchPlan {
	type ranked struct {
		term    string
		records int64
	}
	var found []ranked
	var sum int64
	for i, t := range terms {
		if st.records[i] > 0 {
			found = append(found, ranked{t, st.records[i]})
			sum += st.records[i]
		}
	}
	all := make([]string, len(found))
	for i, f := range found {
		all[i] = f.term
	}
	if len(found) == 0 {
		return searchPlan{}
	}
	if st.total <= searchExactRecords || sum <= searchRareRecords {
		return searchPlan{first: searchCandidates{groups: each(all)}}
	}
	slices.SortStableFunc(found, func(a, b ranked) int { return cmp.Compare(a.records, b.records) })
	var rare []string
	sum = 0
	for _, f := range found {
		if sum+f.records > searchRareRecords {
			break
		}
		sum += f.records
		rare = append(rare, f.term)
	}
	total := float64(max(st.total, found[len(found)-1].records))
	var first searchCandidates
	for _, r := range rare {
		first.groups = append(first.groups, []string{r})
	}
	// The next rarest words (but not a common one, see above): records
	// holding two of the first three of them, or, when those are expected
	// in too many records, all of as many of them as expected in at most
	// searchAllRecords (if the words were independent).
	common := int64(total) / 2
	if walkCost {
		common = int64(total) / 10
	}
	var next []ranked
	for _, f := range found[len(rare):] {
		if f.records <= common {
			next = append(next, f)
		}
	}
	if len(next) >= 2 {
		var pairs [][]string
		pairsExpect := 0.0
		top := next[:min(3, len(next))]
		for i := range top {
			for j := i + 1; j < len(top); j++ {
				pairs = append(pairs, []string{top[i].term, top[j].term})
				pairsExpect += float64(top[i].records) * float64(top[j].records) / total
			}
		}
		if pairsExpect <= float64(searchAllRecords) {
			first.groups = append(first.groups, pairs...)
		} else {
			expect := total
			var every []string
			for _, f := range next {
				every = append(every, f.term)
				expect *= float64(f.records) / total
				if len(every) >= 2 && expect <= float64(searchAllRecords) {
					break
				}
			}
			first.groups = append(first.groups, every)
		}
		first.limit = searchMaxCandidates
	}
	// Relaxed: when that finds too few, the next rarest word alone too, as
	// many of its records as may be ranked.
	relaxed := &searchCandidates{limit: searchMaxCandidates}
	for _, r := range rare {
		relaxed.groups = append(relaxed.groups, []string{r})
	}
	if len(rare) < len(found) {
		relaxed.groups = append(relaxed.groups, []string{found[len(rare)].term})
	}
	if len(first.groups) == 0 {
		return searchPlan{first: *relaxed}
	}
	return searchPlan{first: first, relaxed: relaxed}
}

// each makes every term a group of its own: records containing any of them.
func each(terms []string) [][]string {
	groups := make([][]string, len(terms))
	for i, t := range terms {
		groups[i] = []string{t}
	}
	return groups
}

// searchTermStats returns the statistics of the terms in the datasets and
// (PostgreSQL) the stamp they were read at.
func (s *Store) searchTermStats(ctx context.Context, ids, terms []string) (termStats, string, error) {
	if s.dialect == Postgres {
		return s.searchPostgresTermStats(ctx, ids, terms)
	}
	st, err := s.searchSQLiteTermStats(ctx, ids, terms)
	return st, "", err
}

// searchCandidates ranks the candidates c of the datasets and returns the
// best pool of them, with their relevance to all the terms and how many of
// the terms each contains.
func (s *Store) searchCandidates(ctx context.Context, ids, terms []string, c searchCandidates, pool int) ([]searchHit, error) {
	if s.dialect == Postgres {
		return s.searchPostgres(ctx, ids, terms, c, pool)
	}
	return s.searchSQLite(ctx, ids, terms, c, pool)
}

// mergeHits adds to hits those of more it does not have yet.
func mergeHits(hits, more []searchHit) []searchHit {
	seen := make(map[string]bool, len(hits))
	for _, h := range hits {
		seen[h.ID] = true
	}
	for _, h := range more {
		if !seen[h.ID] {
			hits = append(hits, h)
		}
	}
	return hits
}

// searchScore is a candidate's 0..1 score (see SearchRecords).
func searchScore(h searchHit, terms int) float64 {
	coverage := min(float64(h.Matched)/float64(terms), 1)
	r := h.Relevance
	if math.IsNaN(r) || r < 0 {
		r = 0
	}
	strength := r / (1 + r)
	if math.IsInf(r, 1) {
		strength = 1
	}
	return min(max((coverage+strength)/2, 0), 1)
}

// searchDatasetIDs keeps the well-formed dataset ids, each once: others cannot
// name a dataset, so they match nothing.
func searchDatasetIDs(in []string) []string {
	var ids []string
	for _, id := range in {
		if models.ValidID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
