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
}

// SearchRecords returns the records of q.DatasetIDs that best answer q.Text,
// best first, at most q.Limit (3 by default), none scoring below q.MinScore.
//
// A question is searched for ANY of its meaningful words (models.SearchTerms),
// since a user's question rarely shares all its words with the record that
// answers it; text with no meaningful word finds nothing. The database ranks
// the matches (PostgreSQL ts_rank_cd, SQLite FTS5 bm25) and its best few
// become candidates; each candidate's score is then the mean of the share of
// the question's words it contains and its rank r squashed as r/(1+r). The
// first half means the same on both databases and keeps the score meaningful
// on a small dataset, where bm25 rates words found in most records near zero;
// the second tells apart records that contain the same words, by how rare and
// how dense those words are in them.
func (s *Store) SearchRecords(ctx context.Context, q models.RecordQuery) ([]models.ScoredRecord, error) {
	q = q.Normalize()
	out := []models.ScoredRecord{}
	terms := models.SearchTerms(q.Text)
	ids := searchDatasetIDs(q.DatasetIDs)
	if len(terms) == 0 || len(ids) == 0 {
		return out, nil
	}
	pool := min(max(4*q.Limit, 40), 400)
	var (
		hits []searchHit
		err  error
	)
	if s.dialect == Postgres {
		hits, err = s.searchPostgres(ctx, ids, terms, pool)
	} else {
		hits, err = s.searchSQLite(ctx, ids, terms, pool)
	}
	if err != nil {
		return nil, translate(err, "record search")
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
