package store

import (
	"context"
	"math"
	"slices"
	"testing"

	"parley/models"
)

// TestSearchSQLiteMatched checks how many of a question's words each SQLite
// hit is counted as containing (searchSQLiteMatched): from the record's text
// and source for ASCII records and terms, through the index for the others,
// each time as FTS5 matches (stems, case, diacritics), and that the scores
// SearchRecords gives and its order follow searchScore with those counts.
func TestSearchSQLiteMatched(t *testing.T) {
	ctx := context.Background()
	s := ftsTestStore(t)
	d, err := s.CreateDataset(ctx, models.Dataset{Name: "Matched"})
	if err != nil {
		t.Fatal(err)
	}
	// The question's terms: refunds, ordered, deliveries, café.
	const question = "Refunds for ordered deliveries at the café?"
	records := []struct {
		text, source string
		matched      int
	}{
		{"Refund policy: every ORDER is refunded after its delivery.", "https://x.example/help/refunds", 3},
		{"Orders ship in two days.", "https://x.example/deliveries", 2},         // one word in the source only
		{"Refunds for orderly cafes.", "https://x.example/help", 2},             // orderly is not order; cafes is café
		{"Le café rembourse les commandes: refunding.", "https://x.example", 2}, // not ASCII
		{"Café opening hours.", "https://x.example/é", 1},                       // not ASCII, in the source only
		{"Refunding takes a while.", "", 1},
		{"Nothing here about it.", "https://x.example/orderly", 0}, // no hit
	}
	byText := map[string]int{}
	for _, r := range records {
		if _, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: d.ID, Text: r.text, Source: r.source}); err != nil {
			t.Fatal(err)
		}
		byText[r.text] = r.matched
	}
	terms := models.SearchTerms(question)
	if want := []string{"Refunds", "ordered", "deliveries", "café"}; !slices.Equal(terms, want) {
		t.Fatalf("SearchTerms(%q) = %q, want %q", question, terms, want)
	}
	hits, err := s.searchSQLite(ctx, []string{d.ID}, terms, searchCandidates{groups: each(terms)}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(records)-1 {
		t.Errorf("%d hits, want %d", len(hits), len(records)-1)
	}
	for _, h := range hits {
		// What FTS5 itself says, one probe per term.
		probed := 0
		for _, term := range terms {
			var n int64
			err := s.db.Raw(`SELECT count(*) FROM dataset_records_fts WHERE dataset_records_fts MATCH ?
				AND rowid = (SELECT rowid FROM dataset_records WHERE id = ?)`, ftsQuote(term), h.ID).Scan(&n).Error
			if err != nil {
				t.Fatal(err)
			}
			probed += int(n)
		}
		if want := byText[h.Text]; h.Matched != want || h.Matched != probed {
			t.Errorf("%q: matched %d of the terms, want %d (FTS5 matches %d)", h.Text, h.Matched, want, probed)
		}
	}
	// SearchRecords scores each hit with its count, and ranks by the score.
	found, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: question, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != len(hits) {
		t.Fatalf("SearchRecords found %d records, want %d", len(found), len(hits))
	}
	want := map[string]float64{}
	for _, h := range hits {
		h.Matched = byText[h.Text]
		want[h.ID] = searchScore(h, len(terms))
	}
	for i, f := range found {
		if math.Abs(f.Score-want[f.Record.ID]) > 1e-12 {
			t.Errorf("%q: score %v, want %v", f.Record.Text, f.Score, want[f.Record.ID])
		}
		if i > 0 && f.Score > found[i-1].Score {
			t.Errorf("%q (score %v) ranks below %q (score %v)", f.Record.Text, f.Score, found[i-1].Record.Text, found[i-1].Score)
		}
	}
	if found[0].Record.Text != records[0].text {
		t.Errorf("best record %q, want the one with 3 of the 4 words, %q", found[0].Record.Text, records[0].text)
	}
}
