package store_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// termWords are the words TestSearchTermStats counts.
var termWords = []string{"apple", "banana", "cherry", "durian", "elderberry"}

// wantTermCounts fails the test unless the search's statistics of dataset d
// say, for each of termWords, how many of its records contain it (counted by
// the record filter) and how many records it has; on PostgreSQL, unless
// dataset_terms also equals a recount of every record's lexemes.
func wantTermCounts(t *testing.T, s *store.Store, d *models.Dataset, step string) {
	t.Helper()
	ctx := t.Context()
	got, total, err := store.SearchTermCounts(ctx, s, []string{d.ID}, termWords)
	if err != nil {
		t.Fatalf("%s: term counts: %v", step, err)
	}
	for i, w := range termWords {
		list, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: w}, models.Page{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != list.Total {
			t.Errorf("%s: %q in %d records, statistics say %d", step, w, list.Total, got[i])
		}
	}
	n, err := s.CountRecords(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Errorf("%s: %d records, statistics say %d", step, n, total)
	}
	if s.Dialect() == store.Postgres {
		wantTermsRecounted(t, s, step)
	}
}

// wantTermsRecounted fails the test unless dataset_terms (its non-zero rows)
// equals a recount from the records themselves, for every dataset.
func wantTermsRecounted(t *testing.T, s *store.Store, step string) {
	t.Helper()
	type row struct {
		DatasetID, Term string
		Records         int64
	}
	var kept, recount []row
	if err := s.DB().Raw(`SELECT dataset_id, term, records FROM dataset_terms WHERE records <> 0 ORDER BY dataset_id, term COLLATE "C"`).Scan(&kept).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Raw(`SELECT dataset_id, term, count(*) AS records FROM (
		SELECT dataset_id, '' AS term FROM dataset_records
		UNION ALL SELECT r.dataset_id, l.lexeme FROM dataset_records AS r CROSS JOIN LATERAL unnest(r.search) AS l
	) AS x GROUP BY dataset_id, term ORDER BY dataset_id, term COLLATE "C"`).Scan(&recount).Error; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(kept, recount) {
		t.Errorf("%s: dataset_terms holds %d non-zero rows, a recount %d; first difference: %s", step, len(kept), len(recount), firstDiff(kept, recount))
	}
}

func firstDiff[T comparable](a, b []T) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%+v, recounted %+v", a[i], b[i])
		}
	}
	return "one is longer"
}

// TestSearchTermStats walks every write path of records and checks after
// each that the search's term statistics are right: one record created,
// edited (text, and meta alone), deleted; an import, a file import and its
// undo, an import of a kept upload; a filtered delete, a delete by ids; and
// deleting another dataset.
func TestSearchTermStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		d := mustDataset(t, s, "Fruit")
		other := mustDataset(t, s, "Other")
		wantTermCounts(t, s, d, "empty")

		a := mustRecord(t, s, d.ID, "Apple and banana smoothie.")
		mustRecord(t, s, d.ID, "Apples with cherry jam.")
		c := mustRecord(t, s, d.ID, "Durian is banned on trains.")
		// SQLite counts a word over every dataset (PostgreSQL per dataset,
		// which wantTermsRecounted checks): the other dataset has none of termWords.
		mustRecord(t, s, other.ID, "Zebra crossings and carts.")
		wantTermCounts(t, s, d, "created")

		a.Text = "Cherry and elderberry cordial."
		if _, err := s.UpdateRecord(ctx, *a); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "text edited")
		a.Meta = models.Meta{"tag": "drinks"}
		if _, err := s.UpdateRecord(ctx, *a); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "meta edited")

		if err := s.DeleteRecord(ctx, d.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "deleted")

		if _, err := s.ImportRecords(ctx, d.ID, []models.DatasetRecord{
			{Text: "Banana bread."}, {Text: "Banana split with cherry."}, {Text: "Durian ice cream."},
		}); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "imported")

		imp, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, FileName: "fruit.csv", Format: "csv"}, []models.DatasetRecord{
			{Text: "Elderberry syrup."}, {Text: "Apple pie."}, {Text: "Apple and durian."},
		})
		if err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "file imported")
		if _, err := s.UndoImport(ctx, d.ID, imp.ID); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "import undone")

		u, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "more.csv", Content: []byte("text\nApple crumble\n")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ImportUpload(ctx, u.ID, models.DatasetImport{DatasetID: d.ID, FileName: "more.csv", Format: "csv"},
			[]models.DatasetRecord{{Text: "Apple crumble."}, {Text: "Cherry crumble."}}); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "upload imported")

		if _, err := s.DeleteMatchingRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: "banana"}, 2); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "filtered delete")

		list, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, Text: "crumble"}, models.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list.Records {
			ids = append(ids, r.ID)
		}
		if n, err := s.DeleteRecordsByID(ctx, d.ID, ids); err != nil || n != 2 {
			t.Fatalf("DeleteRecordsByID = %d, %v; want 2 deleted", n, err)
		}
		wantTermCounts(t, s, d, "deleted by ids")

		if err := s.DeleteDataset(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		wantTermCounts(t, s, d, "other dataset deleted")
		if err := s.DeleteDataset(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if s.Dialect() == store.Postgres {
			var n int64
			if err := s.DB().Raw(`SELECT count(*) FROM dataset_terms`).Scan(&n).Error; err != nil || n != 0 {
				t.Errorf("after deleting every dataset dataset_terms holds %d rows (%v), want none", n, err)
			}
		}
	})
}

// TestSearchTermStatsConcurrent has eight writers import, edit and delete
// records of one dataset (and of a second one) at once, on PostgreSQL, whose
// statistics are rows every writer updates: none may fail (no deadlock), and
// the statistics must equal a recount afterwards.
func TestSearchTermStatsConcurrent(t *testing.T) {
	if !slices.Contains(storetest.Dialects(t), store.Postgres) {
		t.Skip("TEST_DATABASE_URL not set: SQLite has one writer at a time")
	}
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()
	ds := []*models.Dataset{mustDataset(t, s, "Shared"), mustDataset(t, s, "Second")}
	words := strings.Fields("apple banana cherry durian elderberry fig grape honeydew kiwi lemon mango nectarine orange papaya quince")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			text := func() string {
				var b []string
				for range 3 + rng.IntN(6) {
					b = append(b, words[rng.IntN(len(words))])
				}
				return strings.Join(b, " ")
			}
			for round := range 5 {
				d := ds[(w+round)%2]
				recs := make([]models.DatasetRecord, 40)
				for i := range recs {
					recs[i].Text = text()
				}
				imp, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, FileName: "w.csv", Format: "csv"}, recs)
				if err != nil {
					errs <- fmt.Errorf("writer %d import: %w", w, err)
					return
				}
				r, err := s.CreateRecord(ctx, models.DatasetRecord{DatasetID: d.ID, Text: text()})
				if err != nil {
					errs <- fmt.Errorf("writer %d create: %w", w, err)
					return
				}
				r.Text = text()
				if _, err := s.UpdateRecord(ctx, *r); err != nil {
					errs <- fmt.Errorf("writer %d update: %w", w, err)
					return
				}
				if round%2 == 1 {
					if _, err := s.UndoImport(ctx, d.ID, imp.ID); err != nil {
						errs <- fmt.Errorf("writer %d undo: %w", w, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantTermsRecounted(t, s, "after concurrent writers")
	for _, d := range ds {
		wantTermCounts(t, s, d, d.Name)
	}
}

// TestMigrateCountsExistingTerms undoes migration 9 by hand on PostgreSQL
// (SQLite's statistics need no schema), writes records, and migrates:
// migration 9 counts the records already there, and later writes too.
func TestMigrateCountsExistingTerms(t *testing.T) {
	if !slices.Contains(storetest.Dialects(t), store.Postgres) {
		t.Skip("TEST_DATABASE_URL not set: migration 9 only changes PostgreSQL")
	}
	s := storetest.Open(t, store.Postgres)
	for _, q := range []string{`DELETE FROM schema_migrations WHERE version = 9`,
		`DROP TRIGGER dataset_terms_insert ON dataset_records`, `DROP TRIGGER dataset_terms_update ON dataset_records`,
		`DROP TRIGGER dataset_terms_delete ON dataset_records`, `DROP FUNCTION dataset_terms_apply()`,
		`DROP FUNCTION dataset_terms_update()`, `DROP TABLE dataset_terms`} {
		if err := s.DB().Exec(q).Error; err != nil {
			t.Fatalf("undo migration 9: %s: %v", q, err)
		}
	}
	ds := mustDataset(t, s, "Before")
	mustRecord(t, s, ds.ID, "Apple and banana.")
	mustRecord(t, s, ds.ID, "Cherry and apple.")
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantTermCounts(t, s, ds, "migrated")
	mustRecord(t, s, ds.ID, "Durian and banana.")
	wantTermCounts(t, s, ds, "written after")
}
