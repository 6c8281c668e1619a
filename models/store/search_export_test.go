package store

import "context"

// SearchTermCounts exposes the search's term statistics to tests: how many
// records of the datasets contain each term, and how many records they have
// (see termStats for what SQLite estimates).
func SearchTermCounts(ctx context.Context, s *Store, datasetIDs, terms []string) ([]int64, int64, error) {
	st, err := s.searchTermStats(ctx, datasetIDs, terms)
	return st.records, st.total, err
}
