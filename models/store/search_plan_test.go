package store

import (
	"reflect"
	"testing"
)

// TestPlanSearch checks which records the planner has a search rank, for
// each regime of its words' statistics (see planSearch).
func TestPlanSearch(t *testing.T) {
	terms := []string{"order", "refund", "annual", "plan"}
	for _, c := range []struct {
		name        string
		records     []int64
		total       int64
		walkCost    bool
		wantFirst   searchCandidates
		wantRelaxed *searchCandidates
	}{
		{"NoWordFound", []int64{0, 0, 0, 0}, 1_000_000, false, searchCandidates{}, nil},
		{"SmallDataset", []int64{900, 10, 300, 700}, 1000, false,
			searchCandidates{groups: [][]string{{"order"}, {"refund"}, {"annual"}, {"plan"}}}, nil},
		{"AllWordsRare", []int64{50, 10, 30, 0}, 1_000_000, false,
			searchCandidates{groups: [][]string{{"order"}, {"refund"}, {"annual"}}}, nil},
		{"RareWordsAndPairs", []int64{900_000, 100, 3_000, 4_000}, 1_000_000, false,
			searchCandidates{groups: [][]string{{"refund"}, {"annual", "plan"}}, limit: searchMaxCandidates},
			&searchCandidates{groups: [][]string{{"refund"}, {"annual"}}, limit: searchMaxCandidates}},
		{"PairsOfTheNextThree", []int64{5_000, 3_000, 4_000, 200_000}, 1_000_000, false,
			searchCandidates{groups: [][]string{{"refund", "annual"}, {"refund", "order"}, {"annual", "order"}}, limit: searchMaxCandidates},
			&searchCandidates{groups: [][]string{{"refund"}}, limit: searchMaxCandidates}},
		{"PairsTooManyAllOfTheRarest", []int64{200_000, 30_000, 40_000, 60_000}, 1_000_000, false,
			searchCandidates{groups: [][]string{{"refund", "annual", "plan"}}, limit: searchMaxCandidates},
			&searchCandidates{groups: [][]string{{"refund"}}, limit: searchMaxCandidates}},
		{"CommonWordNeverRequiredOnSQLite", []int64{990_000, 30_000, 200_000, 600_000}, 1_000_000, true,
			searchCandidates{groups: [][]string{{"refund"}}, limit: searchMaxCandidates}, nil},
		{"CommonWordRequiredOnPostgreSQLUpToHalf", []int64{990_000, 30_000, 200_000, 600_000}, 1_000_000, false,
			searchCandidates{groups: [][]string{{"refund", "annual"}}, limit: searchMaxCandidates},
			&searchCandidates{groups: [][]string{{"refund"}}, limit: searchMaxCandidates}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := planSearch(terms, termStats{records: c.records, total: c.total}, c.walkCost)
			if !reflect.DeepEqual(got.first, c.wantFirst) {
				t.Errorf("first = %+v, want %+v", got.first, c.wantFirst)
			}
			if !reflect.DeepEqual(got.relaxed, c.wantRelaxed) {
				t.Errorf("relaxed = %+v, want %+v", got.relaxed, c.wantRelaxed)
			}
		})
	}
}
