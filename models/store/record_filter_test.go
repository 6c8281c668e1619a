package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// texts are the texts of records, in order.
func recordTexts(recs []models.DatasetRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Text
	}
	return out
}

func TestListRecordsFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := store.WithActor(t.Context(), ada)
		d := mustDataset(t, s, "Filtered")
		other := mustDataset(t, s, "Other")
		add := func(datasetID, text, source string) {
			t.Helper()
			if _, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: datasetID, Text: text, Source: source}); err != nil {
				t.Fatal(err)
			}
		}
		add(d.ID, "Refunds are paid within 30 days.", "https://help.example/billing/refunds")
		add(d.ID, "Refunding an annual plan is prorated.", "https://help.example/billing/annual")
		add(d.ID, "Shipping takes five days.", "https://help.example/shipping")
		add(d.ID, "Invoices are emailed monthly.", "Billing.md#invoices")
		add(d.ID, "Café opening hours.", "café/hours")
		add(d.ID, "Cafés nearby.", "cafés")
		add(d.ID, "Next letter after é.", "caf\u00ea")
		add(other.ID, "Refunds in the other dataset.", "https://help.example/billing/refunds")
		imp := mustImport(t, s, ctx, d.ID, "faq.csv", "Imported refund", 3)

		for _, tc := range []struct {
			name string
			f    models.RecordFilter
			want []string
		}{
			{"All", models.RecordFilter{}, nil},
			{"WordsPrefixAndStem", models.RecordFilter{Text: "refund"}, []string{"Imported refund record 2", "Imported refund record 1", "Imported refund record 0",
				"Refunding an annual plan is prorated.", "Refunds are paid within 30 days."}},
			{"EveryWord", models.RecordFilter{Text: "REFUND annu"}, []string{"Refunding an annual plan is prorated."}},
			{"CommonWordsIgnored", models.RecordFilter{Text: "the shipping"}, []string{"Shipping takes five days."}},
			{"QuerySyntaxIsText", models.RecordFilter{Text: `ship* AND ("five" OR -`}, []string{"Shipping takes five days."}},
			{"SourcePrefix", models.RecordFilter{Source: "https://help.example/billing/"}, []string{"Refunding an annual plan is prorated.", "Refunds are paid within 30 days."}},
			{"SourceCaseSensitive", models.RecordFilter{Source: "billing"}, []string{}},
			{"SourceUnicode", models.RecordFilter{Source: "café"}, []string{"Cafés nearby.", "Café opening hours."}},
			{"SourceAndWords", models.RecordFilter{Source: "https://help.example/", Text: "days"}, []string{"Shipping takes five days.", "Refunds are paid within 30 days."}},
			{"Import", models.RecordFilter{ImportID: imp.ID}, []string{"Imported refund record 2", "Imported refund record 1", "Imported refund record 0"}},
			{"ImportAndWords", models.RecordFilter{ImportID: imp.ID, Text: "record 1"}, []string{"Imported refund record 2", "Imported refund record 1", "Imported refund record 0"}},
			{"SourceOfImport", models.RecordFilter{Source: "faq.csv#1"}, []string{"Imported refund record 1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.DatasetID = d.ID
				list, err := s.ListRecords(ctx, tc.f, models.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				got := recordTexts(list.Records)
				if tc.want != nil && !slices.Equal(got, tc.want) {
					t.Errorf("records = %q\nwant      %q", got, tc.want)
				}
				if tc.want == nil && len(got) != 10 {
					t.Errorf("%d records, want all 10", len(got))
				}
				n, err := s.CountMatchingRecords(ctx, tc.f)
				if err != nil || n != int64(len(got)) || list.Total != n {
					t.Errorf("CountMatchingRecords = %d, %v; Total = %d; want %d", n, err, list.Total, len(got))
				}
			})
		}
		t.Run("ErrOnlyCommonWords", func(t *testing.T) {
			_, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: "how is the a"}, models.Page{})
			wantFieldErrors(t, err, "text")
			_, err = s.CountMatchingRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: "the"})
			wantFieldErrors(t, err, "text")
		})
		t.Run("ErrBadText", func(t *testing.T) {
			_, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, Source: "a\x00b"}, models.Page{})
			wantFieldErrors(t, err, "source")
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: "nope"}, models.Page{})
			wantCode(t, err, models.CodeNotFound)
			_, err = s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, ImportID: "nope"}, models.Page{})
			wantCode(t, err, models.CodeNotFound)
		})
	})
}

func TestListRecordsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := store.WithActor(t.Context(), ada)
		d := mustDataset(t, s, "Paged")
		mustRecord(t, s, d.ID, "Unrelated note.")
		imp := mustImport(t, s, ctx, d.ID, "big.csv", "Big", 120)
		f := models.RecordFilter{DatasetID: d.ID, ImportID: imp.ID}
		page := func(p models.Page) *models.RecordList {
			t.Helper()
			list, err := s.ListRecords(ctx, f, p)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}
		// Records 1–25, 26–50, … 101–120 of 120, newest (the last imported) first.
		var seen []string
		cursor := ""
		for i := 0; i < 5; i++ {
			list := page(models.Page{Cursor: cursor, Limit: 25})
			first, last := i*25, min(i*25+25, 120)
			if list.Total != 120 || list.Offset != int64(first) || len(list.Records) != last-first {
				t.Fatalf("page %d: total %d, offset %d, %d records; want 120, %d, %d", i+1, list.Total, list.Offset, len(list.Records), first, last-first)
			}
			if got, want := list.Records[0].Text, fmt.Sprintf("Big record %d", 119-first); got != want {
				t.Errorf("page %d starts with %q, want %q", i+1, got, want)
			}
			if (list.Prev != "") != (i > 0) || (list.Next != "") != (i < 4) {
				t.Errorf("page %d: prev %q, next %q", i+1, list.Prev, list.Next)
			}
			seen = append(seen, recordTexts(list.Records)...)
			if i == 2 {
				back := page(models.Page{Cursor: list.Prev, Order: models.OrderAsc, Limit: 25})
				if back.Offset != 25 || back.Records[0].Text != "Big record 94" || back.Records[24].Text != "Big record 70" ||
					page(models.Page{Cursor: back.Next, Limit: 25}).Records[0].ID != list.Records[0].ID {
					t.Errorf("previous of page 3: offset %d, %q … %q", back.Offset, back.Records[0].Text, back.Records[24].Text)
				}
			}
			cursor = list.Next
		}
		slices.Sort(seen)
		if len(slices.Compact(seen)) != 120 {
			t.Errorf("the pages show %d distinct records, want 120", len(seen))
		}
		t.Run("PreviousNearTheTopIsTheFirstPage", func(t *testing.T) {
			list := page(models.Page{Limit: 25})
			second := page(models.Page{Cursor: list.Records[9].ID, Limit: 25}) // a page starting mid-way (records deleted meanwhile)
			back := page(models.Page{Cursor: second.Prev, Order: models.OrderAsc, Limit: 25})
			if back.Offset != 0 || len(back.Records) != 25 || back.Prev != "" || back.Records[0].Text != "Big record 119" {
				t.Errorf("previous near the top: offset %d, %d records, prev %q", back.Offset, len(back.Records), back.Prev)
			}
		})
		t.Run("PastTheEnd", func(t *testing.T) {
			list := page(models.Page{Limit: 100})
			last := list.Next
			end := page(models.Page{Cursor: page(models.Page{Cursor: last, Limit: 100}).Records[19].ID, Limit: 100})
			if len(end.Records) != 0 || end.Offset != 120 || end.Next != "" || end.Prev == "" {
				t.Errorf("past the end: %+v", end)
			}
		})
	})
}

func TestDeleteRecordsInBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := store.WithActor(t.Context(), ada)
		d := mustDataset(t, s, "Bulk")
		other := mustDataset(t, s, "Bulk elsewhere")
		mine := []*models.DatasetRecord{mustRecord(t, s, d.ID, "Alpha refund."), mustRecord(t, s, d.ID, "Beta refund."), mustRecord(t, s, d.ID, "Gamma shipping.")}
		theirs := mustRecord(t, s, other.ID, "Delta refund.")

		t.Run("Selected", func(t *testing.T) {
			ids := []string{mine[0].ID, theirs.ID, "nope", mine[0].ID}
			found, err := s.FindRecordsByID(ctx, d.ID, ids)
			if err != nil || len(found) != 1 || found[0].ID != mine[0].ID {
				t.Fatalf("FindRecordsByID = %+v, %v; want only this dataset's record", found, err)
			}
			n, err := s.DeleteRecordsByID(ctx, d.ID, ids)
			if err != nil || n != 1 {
				t.Fatalf("DeleteRecordsByID = %d, %v; want 1", n, err)
			}
			if count(t, s, "dataset_records", "id = ?", theirs.ID) != 1 {
				t.Error("another dataset's record was deleted")
			}
		})
		t.Run("AllMatching", func(t *testing.T) {
			f := models.RecordFilter{DatasetID: d.ID, Text: "refund"}
			n, err := s.DeleteMatchingRecords(ctx, f, 2)
			wantCode(t, err, models.CodeConflict)
			if got := models.ErrorMessage(err); got != "The filter now matches 1 record, not the 2 you confirmed: nothing was deleted." || n != 0 {
				t.Errorf("n, message = %d, %q", n, got)
			}
			if count(t, s, "dataset_records", "dataset_id = ?", d.ID) != 2 {
				t.Fatal("a refused bulk delete deleted")
			}
			n, err = s.DeleteMatchingRecords(ctx, f, 1)
			if err != nil || n != 1 {
				t.Fatalf("DeleteMatchingRecords = %d, %v", n, err)
			}
			left, _ := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID}, models.Page{})
			if got := recordTexts(left.Records); !slices.Equal(got, []string{"Gamma shipping."}) {
				t.Errorf("left = %q", got)
			}
			if hits, _ := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "beta refund"}); len(hits) != 0 {
				t.Errorf("the full-text index still finds a deleted record: %+v", hits)
			}
			if count(t, s, "dataset_records", "id = ?", theirs.ID) != 1 {
				t.Error("another dataset's record was deleted")
			}
		})
		t.Run("AllOfAnImport", func(t *testing.T) {
			imp := mustImport(t, s, ctx, d.ID, "many.csv", "Many", 1200)
			n, err := s.DeleteMatchingRecords(ctx, models.RecordFilter{DatasetID: d.ID, ImportID: imp.ID, Text: "many"}, 1200)
			if err != nil || n != 1200 {
				t.Fatalf("DeleteMatchingRecords = %d, %v", n, err)
			}
			if got := count(t, s, "dataset_records", "dataset_id = ?", d.ID); got != 1 {
				t.Errorf("%d records left, want 1", got)
			}
		})
		t.Run("ErrOnlyCommonWords", func(t *testing.T) {
			_, err := s.DeleteMatchingRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: strings.Repeat("the ", 3)}, 0)
			wantFieldErrors(t, err, "text")
		})
	})
}

// Migration 11 leaves the records already there without an import, listed and filtered like any other.
func TestMigrate0011(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			s, err := store.Open(t.Context(), storetest.URL(t, d), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := store.MigrateTo(s, 7); err != nil {
				t.Fatal(err)
			}
			ds := models.NewID()
			now := s.Now().UTC()
			if err := s.DB().Table("datasets").Create(map[string]any{"id": ds, "name": "Old", "description": "", "meta": models.Meta{}, "store": "",
				"reranker": "", "record_max_tokens": 0, "search_min_score": 0, "search_max_records": 3, "search_max_tokens": 0,
				"match_instruction": "", "mismatch_instruction": "", "separators": "", "visibility": "private", "created_at": now, "updated_at": now}).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Table("dataset_records").Create(map[string]any{"id": models.NewID(), "dataset_id": ds, "text": "An old refund record.",
				"source": "old.md", "meta": models.Meta{}, "created_at": now, "updated_at": now}).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"dataset_imports", "dataset_uploads"} {
				if !s.DB().Migrator().HasTable(table) {
					t.Errorf("table %s missing", table)
				}
			}
			for _, idx := range []string{"idx_dataset_records_import", "idx_dataset_records_source"} {
				if !s.DB().Migrator().HasIndex("dataset_records", idx) {
					t.Errorf("index %s missing", idx)
				}
			}
			list, err := s.ListRecords(t.Context(), models.RecordFilter{DatasetID: ds, Text: "refund", Source: "old"}, models.Page{})
			if err != nil || len(list.Records) != 1 || list.Records[0].ImportID != nil {
				t.Errorf("old record after migration = %+v, %v", list, err)
			}
		})
	}
}
