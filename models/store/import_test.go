package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// importWord is a made-up word unique to record i, so a search can find that one record.
func importWord(i int) string {
	const letters = "bcdfghjklmnpqrstvwxz"
	w := []byte("zq")
	for n := i; ; n /= len(letters) {
		w = append(w, letters[n%len(letters)])
		if n < len(letters) {
			break
		}
	}
	return string(w) + "ish"
}

// importRecords makes n records, each with its own word.
func importRecords(n int) []models.DatasetRecord {
	recs := make([]models.DatasetRecord, n)
	for i := range recs {
		recs[i] = models.DatasetRecord{
			Text:   fmt.Sprintf("Entry %d of the help center explains the %s setting for customers on the annual plan.", i, importWord(i)),
			Source: fmt.Sprintf("help.csv#%d", i),
		}
	}
	return recs
}

func TestImportRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()

		t.Run("OK", func(t *testing.T) {
			d := mustDataset(t, s, "Imported")
			in := []models.DatasetRecord{
				{Text: "Refunds are paid within 30 days.", Source: "faq.csv#2", Meta: models.Meta{"category": "billing"}},
				{Text: "Shipping is free above 50 euros."},
				// Caller values the store owns are replaced.
				{ID: "not-an-id", DatasetID: "other", Text: "Passwords are reset from the sign-in page."},
			}
			n, err := s.ImportRecords(ctx, d.ID, in)
			if err != nil || n != 3 {
				t.Fatalf("ImportRecords = %d, %v; want 3, nil", n, err)
			}
			if in[0].ID != "" || in[2].ID != "not-an-id" {
				t.Error("ImportRecords changed its input")
			}
			recs, _, err := s.FindRecords(ctx, d.ID, models.Page{Limit: 10, Order: models.OrderAsc})
			if err != nil || len(recs) != 3 {
				t.Fatalf("FindRecords = %d records, %v", len(recs), err)
			}
			for i, r := range recs {
				if !models.ValidID(r.ID) || r.DatasetID != d.ID || r.Text != in[i].Text || r.Source != in[i].Source || r.CreatedAt.IsZero() || r.Meta == nil {
					t.Errorf("record %d = %+v", i, r)
				}
			}
			if recs[0].Meta["category"] != "billing" {
				t.Errorf("meta = %v", recs[0].Meta)
			}
			got, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "When are refunds paid?"})
			if err != nil || len(got) == 0 || got[0].Record.ID != recs[0].ID {
				t.Errorf("search after import = %+v, %v; want the refunds record first", got, err)
			}
		})

		t.Run("TenThousand", func(t *testing.T) {
			d := mustDataset(t, s, "Ten thousand")
			in := importRecords(10_000)
			start := time.Now()
			n, err := s.ImportRecords(ctx, d.ID, in)
			elapsed := time.Since(start)
			if err != nil || n != 10_000 {
				t.Fatalf("ImportRecords = %d, %v", n, err)
			}
			t.Logf("%s: 10,000 records imported in %v (see BenchmarkImportRecords)", s.Dialect(), elapsed.Round(time.Millisecond))
			if got := count(t, s, "dataset_records", "dataset_id = ?", d.ID); got != 10_000 {
				t.Errorf("%d records stored, want 10000", got)
			}
			for _, i := range []int{0, 4_999, 9_999} {
				got, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "What is " + importWord(i) + "?"})
				if err != nil || len(got) == 0 || got[0].Record.Source != fmt.Sprintf("help.csv#%d", i) {
					t.Errorf("search for record %d's word = %+v, %v", i, got, err)
				}
			}
		})

		// A bad record anywhere, even after more than two batches of good
		// ones, is named by its position and nothing is written.
		for _, tc := range []struct {
			name   string
			recs   []models.DatasetRecord
			badAt  int
			detail string
		}{
			{"ErrTextRequired", []models.DatasetRecord{{Text: "ok"}, {Text: "ok"}, {Text: " "}}, 3, "Text is required."},
			{"ErrSourceTooLong", []models.DatasetRecord{{Text: "ok", Source: strings.Repeat("s", 2001)}, {Text: "ok"}}, 1, "Source must be at most 2000 characters."},
			{"ErrNUL", []models.DatasetRecord{{Text: "ok"}, {Text: "a\x00b"}}, 2, "Text contains a NUL character."},
			{"ErrInvalidUTF8", []models.DatasetRecord{{Text: "ok", Source: "caf\xe9"}}, 1, "Source is not valid UTF-8."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := mustDataset(t, s, "Invalid import")
				mustRecord(t, s, d.ID, "Already there.")
				good := importRecords(1_200)
				n, err := s.ImportRecords(ctx, d.ID, append(good, tc.recs...))
				wantCode(t, err, models.CodeInvalid)
				want := fmt.Sprintf("Record %d of %d: %s", len(good)+tc.badAt, len(good)+len(tc.recs), tc.detail)
				if got := models.ErrorMessage(err); got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
				if n != 0 {
					t.Errorf("n = %d, want 0", n)
				}
				if got := count(t, s, "dataset_records", "dataset_id = ?", d.ID); got != 1 {
					t.Errorf("%d records after a failed import, want the 1 that was there", got)
				}
			})
		}

		t.Run("ErrDatasetNotFound", func(t *testing.T) {
			for _, id := range []string{"0190b6b1-0000-7000-8000-000000000000", "nope"} {
				n, err := s.ImportRecords(ctx, id, importRecords(2))
				wantCode(t, err, models.CodeNotFound)
				if n != 0 {
					t.Errorf("n = %d", n)
				}
			}
			if got := count(t, s, "dataset_records", "dataset_id = ?", "0190b6b1-0000-7000-8000-000000000000"); got != 0 {
				t.Errorf("%d records written for a missing dataset", got)
			}
		})

		t.Run("Empty", func(t *testing.T) {
			d := mustDataset(t, s, "Empty import")
			if n, err := s.ImportRecords(ctx, d.ID, nil); n != 0 || err != nil {
				t.Errorf("ImportRecords(nil) = %d, %v; want 0, nil", n, err)
			}
		})

		// A failure after some batches are written (here injected into the
		// third INSERT) rolls every batch back, index included.
		t.Run("RollbackAfterPartialWrite", func(t *testing.T) {
			d := mustDataset(t, s, "Rolled back")
			const name = "test:fail_third_record_batch"
			inserts := 0
			err := s.DB().Callback().Create().Before("gorm:create").Register(name, func(db *gorm.DB) {
				if db.Statement.Table == "dataset_records" {
					if inserts++; inserts == 3 {
						_ = db.AddError(errors.New("injected failure"))
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.ImportRecords(ctx, d.ID, importRecords(1_400))
			if rerr := s.DB().Callback().Create().Remove(name); rerr != nil {
				t.Fatal(rerr)
			}
			if err == nil || !strings.Contains(err.Error(), "injected failure") || n != 0 {
				t.Fatalf("ImportRecords = %d, %v; want the injected failure", n, err)
			}
			if inserts != 3 {
				t.Errorf("%d INSERTs ran, want 3 (two batches written before the failure)", inserts)
			}
			if got := count(t, s, "dataset_records", "dataset_id = ?", d.ID); got != 0 {
				t.Errorf("%d records left after a failed import, want 0", got)
			}
			got, err := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "What is " + importWord(1) + "?"})
			if err != nil || len(got) != 0 {
				t.Errorf("search after a rolled-back import = %+v, %v; want nothing", got, err)
			}
		})
	})
}

// BenchmarkImportRecords measures importing 10,000 records into an empty
// dataset on each database (one transaction, full-text index included). Run:
//
//	go test ./models/store -run '^$' -bench ImportRecords -benchtime 5x
//
// (with TEST_DATABASE_URL set for PostgreSQL).
func BenchmarkImportRecords(b *testing.B) {
	recs := importRecords(10_000)
	for _, d := range storetest.Dialects(b) {
		b.Run(d, func(b *testing.B) {
			s := storetest.Open(b, d)
			for b.Loop() {
				b.StopTimer()
				ds, err := s.CreateDataset(b.Context(), models.Dataset{Name: "Benchmark"})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if n, err := s.ImportRecords(b.Context(), ds.ID, recs); err != nil || n != len(recs) {
					b.Fatalf("ImportRecords = %d, %v", n, err)
				}
			}
			b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
