package store

import "context"

// SearchTermCounts exposes the search's term statistics to tests: how many
// records of the datasets contain each term, and how many records they have
// (see termStats for what SQLite estimates).
func SearchTermCounts(ctx context.Context, s *Store, datasetIDs, terms []string) ([]int64, int64, error) {
	st, _, err := s.searchTermStats(ctx, datasetIDs, terms)
	return st.records, st.total, err
}

// SearchStatReads is how many times searches read term statistics from the
// database (PostgreSQL: the rest came from the cache).
func SearchStatReads(s *Store) int { return s.recordStats.readCount() }

// ScaleSearchBounds multiplies the search planner's bounds by f (at least 1
// record each), so a test on 20,000 records plans as a search on
// 20,000/f would; it returns the function that restores them.
func ScaleSearchBounds(f float64) (restore func()) {
	bounds := []*int64{&searchExactRecords, &searchRareRecords, &searchAllRecords}
	saved := make([]int64, len(bounds))
	for i, b := range bounds {
		saved[i] = *b
		*b = max(1, int64(float64(*b)*f))
	}
	savedMax := searchMaxCandidates
	searchMaxCandidates = max(1, int(float64(searchMaxCandidates)*f))
	return func() {
		for i, b := range bounds {
			*b = saved[i]
		}
		searchMaxCandidates = savedMax
	}
}
