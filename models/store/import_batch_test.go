package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// ada is the operator the import tests act as.
var ada = models.Actor{Kind: models.ActorOperator, ID: "0190b6b1-0000-7000-8000-00000000ada0", Name: "Ada"}

// mustImport imports n records ("<prefix> record i") as one batch named file.
func mustImport(t *testing.T, s *store.Store, ctx context.Context, datasetID, file, prefix string, n int) *models.DatasetImport {
	t.Helper()
	recs := make([]models.DatasetRecord, n)
	for i := range recs {
		recs[i] = models.DatasetRecord{Text: fmt.Sprintf("%s record %d", prefix, i), Source: fmt.Sprintf("%s#%d", file, i)}
	}
	imp, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: datasetID, FileName: file, Format: "csv"}, recs)
	if err != nil {
		t.Fatalf("ImportBatch(%s): %v", file, err)
	}
	return imp
}

func TestImportBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := store.WithActor(t.Context(), ada)

		t.Run("RecordsNameTheirImport", func(t *testing.T) {
			d := mustDataset(t, s, "Batches")
			manual := mustRecord(t, s, d.ID, "Typed by hand.")
			imp := mustImport(t, s, ctx, d.ID, "faq.csv", "FAQ", 3)
			if imp.RecordCount != 3 || imp.FileName != "faq.csv" || imp.Format != "csv" || imp.CreatedByName != "Ada" ||
				imp.CreatedByID != ada.ID || imp.CreatedByKind != models.ActorOperator || imp.Undone() || !models.ValidID(imp.ID) {
				t.Errorf("import = %+v", imp)
			}
			if got := count(t, s, "dataset_records", "import_id = ?", imp.ID); got != 3 {
				t.Errorf("%d records name the import, want 3", got)
			}
			if got := count(t, s, "dataset_records", "id = ? AND import_id IS NULL", manual.ID); got != 1 {
				t.Error("the record added by hand names an import")
			}
			got, err := s.FindImport(ctx, d.ID, imp.ID)
			if err != nil || got.Remaining != 3 || got.CreatedByName != "Ada" {
				t.Errorf("FindImport = %+v, %v", got, err)
			}
			n, err := s.ImportRecords(ctx, d.ID, importRecords(2))
			if err != nil || n != 2 {
				t.Fatalf("ImportRecords = %d, %v", n, err)
			}
			list, _, err := s.FindImports(ctx, d.ID, models.Page{})
			if err != nil || len(list) != 2 || list[0].FileName != "" || list[0].Remaining != 2 || list[1].ID != imp.ID {
				t.Errorf("FindImports = %+v, %v; want the unnamed batch of ImportRecords first", list, err)
			}
			if n, _ := s.CountImports(ctx, d.ID); n != 2 {
				t.Errorf("CountImports = %d", n)
			}
		})

		t.Run("UndoRemovesOnlyItsRecords", func(t *testing.T) {
			d := mustDataset(t, s, "Undo")
			other := mustDataset(t, s, "Undo elsewhere")
			manual := mustRecord(t, s, d.ID, "Typed by hand.")
			keep := mustImport(t, s, ctx, d.ID, "keep.csv", "Keep", 4)
			undo := mustImport(t, s, ctx, d.ID, "undo.csv", "Undo", 120)
			elsewhere := mustImport(t, s, ctx, other.ID, "undo.csv", "Elsewhere", 2)
			// A record of the import, edited since, goes with it.
			recs, err := s.ListRecords(ctx, models.RecordFilter{DatasetID: d.ID, ImportID: undo.ID}, models.Page{Limit: 1})
			if err != nil || len(recs.Records) != 1 {
				t.Fatalf("ListRecords = %+v, %v", recs, err)
			}
			edited := recs.Records[0]
			edited.Text = "Edited after the import."
			if _, err := s.UpdateRecord(ctx, edited); err != nil {
				t.Fatal(err)
			}

			if _, err := s.UndoImport(ctx, other.ID, undo.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("undo through another dataset: %v, want not found", err)
			}
			got, err := s.UndoImport(store.WithActor(t.Context(), models.Actor{Kind: models.ActorOperator, ID: "x", Name: "Grace"}), d.ID, undo.ID)
			if err != nil {
				t.Fatalf("UndoImport: %v", err)
			}
			if !got.Undone() || got.UndoneByName != "Grace" || got.UndoneRecords != 120 || got.RecordCount != 120 {
				t.Errorf("undone import = %+v", got)
			}
			if n := count(t, s, "dataset_records", "dataset_id = ?", d.ID); n != 5 {
				t.Errorf("%d records left, want 5 (4 of the kept import and the one typed by hand)", n)
			}
			for what, n := range map[string]int64{
				"kept import":  count(t, s, "dataset_records", "import_id = ?", keep.ID),
				"hand-typed":   count(t, s, "dataset_records", "id = ?", manual.ID),
				"other import": count(t, s, "dataset_records", "import_id = ?", elsewhere.ID),
			} {
				if n == 0 {
					t.Errorf("undo removed the %s's records", what)
				}
			}
			if hits, _ := s.SearchRecords(ctx, models.RecordQuery{DatasetIDs: []string{d.ID}, Text: "edited after"}); len(hits) != 0 {
				t.Errorf("search still finds an undone record: %+v", hits)
			}
			_, err = s.UndoImport(ctx, d.ID, undo.ID)
			wantCode(t, err, models.CodeConflict)
			if msg := models.ErrorMessage(err); !strings.HasPrefix(msg, "This import was undone already (by Grace on ") {
				t.Errorf("message = %q", msg)
			}
			imp, err := s.FindImport(ctx, d.ID, undo.ID)
			if err != nil || imp.Remaining != 0 || !imp.Undone() {
				t.Errorf("FindImport after undo = %+v, %v", imp, err)
			}
			for _, id := range []string{"nope", "0190b6b1-0000-7000-8000-000000000000"} {
				_, err := s.UndoImport(ctx, d.ID, id)
				wantCode(t, err, models.CodeNotFound)
			}
		})

		t.Run("ErrBadRecordWritesNoImport", func(t *testing.T) {
			d := mustDataset(t, s, "No batch")
			_, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, FileName: "bad.csv"}, []models.DatasetRecord{{Text: "ok"}, {Text: " "}})
			wantCode(t, err, models.CodeInvalid)
			_, err = s.ImportBatch(ctx, models.DatasetImport{DatasetID: d.ID, FileName: "empty.csv"}, nil)
			wantCode(t, err, models.CodeInvalid)
			if n := count(t, s, "dataset_imports", "dataset_id = ?", d.ID); n != 0 {
				t.Errorf("%d imports written", n)
			}
		})

		t.Run("DeleteDatasetDeletesImportsAndUploads", func(t *testing.T) {
			d := mustDataset(t, s, "Doomed")
			mustImport(t, s, ctx, d.ID, "a.csv", "A", 2)
			if _, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "b.csv", Content: []byte("text\nb\n")}); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteDataset(ctx, d.ID); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "dataset_imports", "dataset_id = ?", d.ID) + count(t, s, "dataset_uploads", "dataset_id = ?", d.ID); n != 0 {
				t.Errorf("%d imports and uploads left", n)
			}
		})
	})
}

func TestUploads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		ctx := store.WithActor(t.Context(), ada)
		d := mustDataset(t, s, "Uploads")
		content := []byte("question,answer\nA?,Yes.\n")

		t.Run("KeptThenImportedOnce", func(t *testing.T) {
			u, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "qa.csv", Content: content})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.FindUpload(ctx, d.ID, u.ID)
			if err != nil || string(got.Content) != string(content) || got.FileName != "qa.csv" {
				t.Fatalf("FindUpload = %+v, %v", got, err)
			}
			if _, err := s.FindUpload(ctx, mustDataset(t, s, "Other").ID, u.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("upload found through another dataset: %v", err)
			}
			recs := []models.DatasetRecord{{Text: "Yes."}}
			imp, err := s.ImportUpload(ctx, u.ID, models.DatasetImport{DatasetID: d.ID, FileName: "qa.csv", Format: "csv"}, recs)
			if err != nil || imp.RecordCount != 1 {
				t.Fatalf("ImportUpload = %+v, %v", imp, err)
			}
			// The same form sent again imports nothing.
			_, err = s.ImportUpload(ctx, u.ID, models.DatasetImport{DatasetID: d.ID, FileName: "qa.csv", Format: "csv"}, recs)
			wantCode(t, err, models.CodeNotFound)
			if n := count(t, s, "dataset_records", "dataset_id = ?", d.ID); n != 1 {
				t.Errorf("%d records after importing one upload twice, want 1", n)
			}
			if _, err := s.FindUpload(ctx, d.ID, u.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("an imported upload is still found: %v", err)
			}
		})

		t.Run("ExpiredAndReplaced", func(t *testing.T) {
			first, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "one.csv", Content: content})
			if err != nil {
				t.Fatal(err)
			}
			grace := store.WithActor(t.Context(), models.Actor{Kind: models.ActorOperator, ID: "g", Name: "Grace"})
			hers, err := s.SaveUpload(grace, models.DatasetUpload{DatasetID: d.ID, FileName: "hers.csv", Content: content})
			if err != nil {
				t.Fatal(err)
			}
			second, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "two.csv", Content: content})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.FindUpload(ctx, d.ID, first.ID); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("an upload replaced by the same operator's next one is found: %v", err)
			}
			if _, err := s.FindUpload(ctx, d.ID, hers.ID); err != nil {
				t.Errorf("another operator's upload went: %v", err)
			}
			clk.Advance(models.UploadLifetime + time.Second)
			_, err = s.FindUpload(ctx, d.ID, second.ID)
			wantCode(t, err, models.CodeNotFound)
			_, err = s.ImportUpload(ctx, second.ID, models.DatasetImport{DatasetID: d.ID}, []models.DatasetRecord{{Text: "late"}})
			wantCode(t, err, models.CodeNotFound)
			if _, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: d.ID, FileName: "three.csv", Content: content}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "dataset_uploads", ""); n != 1 {
				t.Errorf("%d uploads kept, want 1: expired ones are removed by the next upload", n)
			}
		})
		t.Run("ErrDatasetNotFound", func(t *testing.T) {
			_, err := s.SaveUpload(ctx, models.DatasetUpload{DatasetID: "0190b6b1-0000-7000-8000-000000000000", FileName: "x.csv"})
			wantCode(t, err, models.CodeNotFound)
		})
	})
}
