package store_test

import (
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// TestSearchStatsCache: a search finds what the records hold now, whatever
// term statistics an earlier search read — a word no record had when it was
// last searched for, a record changed or deleted since — and, on PostgreSQL,
// a search repeated while nothing changed reads no statistics (they are
// cached, their stamp read back by the search itself). The cache has no
// in-process invalidation, so writes here stand for any instance's.
func TestSearchStatsCache(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pg := s.Dialect() == store.Postgres
		ds := mustDataset(t, s, "Cache")
		refund := mustRecord(t, s, ds.ID, "Refunds are possible within 30 days of purchase.")
		mustRecord(t, s, ds.ID, "Passwords are reset from the sign-in page.")
		search := func(text string) []string {
			t.Helper()
			got, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{ds.ID}, Text: text, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.Record.ID)
			}
			return ids
		}
		expect := func(text string, want ...string) {
			t.Helper()
			got := search(text)
			if len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
				t.Errorf("search %q = %v, want %v", text, got, want)
			}
		}
		cachedRead := func(text string, want ...string) {
			t.Helper()
			before := store.SearchStatReads(s)
			expect(text, want...)
			if reads := store.SearchStatReads(s) - before; pg && reads != 0 {
				t.Errorf("search %q again with nothing changed read the statistics %d times, want 0 (cached)", text, reads)
			}
		}

		expect("refund", refund.ID)
		cachedRead("refund", refund.ID)
		expect("zeppelin") // no record has it: counted 0

		zep := mustRecord(t, s, ds.ID, "Zeppelin tickets are sold at the gate.")
		expect("zeppelin", zep.ID)
		cachedRead("zeppelin", zep.ID)

		zep.Text = "Airship tickets are sold at the gate."
		if _, err := s.UpdateRecord(ctx, *zep); err != nil {
			t.Fatal(err)
		}
		expect("zeppelin")
		expect("airship", zep.ID)

		// A change elsewhere in the dataset: the stamp the search reads back
		// differs, so the statistics are read again.
		before := store.SearchStatReads(s)
		other := mustRecord(t, s, ds.ID, "Opening hours are nine to five.")
		expect("refund", refund.ID)
		if reads := store.SearchStatReads(s) - before; pg && reads != 1 {
			t.Errorf("search after another record was written read the statistics %d times, want 1", reads)
		}
		if err := s.DeleteRecord(ctx, ds.ID, refund.ID); err != nil {
			t.Fatal(err)
		}
		expect("refund")
		expect("opening hours", other.ID)
	})
}
