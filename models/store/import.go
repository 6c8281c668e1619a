package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"parley/models"
)

// importBatch is how many records one INSERT writes: 500 rows of 8 columns
// stay well under both databases' limits on bound parameters.
const importBatch = 500

// ImportRecords adds many records to a dataset at once, as one import without
// a file name: see ImportBatch. It returns how many it wrote (0, and no
// import, for no records).
func (s *Store) ImportRecords(ctx context.Context, datasetID string, recs []models.DatasetRecord) (int, error) {
	if !models.ValidID(datasetID) {
		return 0, notFound("dataset")
	}
	if len(recs) == 0 {
		return 0, nil
	}
	imp, err := s.ImportBatch(ctx, models.DatasetImport{DatasetID: datasetID}, recs)
	if err != nil {
		return 0, err
	}
	return imp.RecordCount, nil
}

// ImportBatch adds many records to imp.DatasetID as one import, as a file
// import does: every record is validated first (an error names the first bad
// one by its 1-based position), then the import (who — the actor of ctx —,
// when, imp.FileName, imp.Format, how many) and all its records, each naming
// it, are inserted in one transaction, in batches of normal INSERTs so the
// full-text index (SQLite triggers, PostgreSQL's generated column) covers
// them at once. It writes all of them or none. The records' ids, dataset,
// import and timestamps are set here; recs is not changed. Errors: invalid
// (a bad record, no records), not_found (the dataset).
func (s *Store) ImportBatch(ctx context.Context, imp models.DatasetImport, recs []models.DatasetRecord) (*models.DatasetImport, error) {
	rows, err := s.prepareImport(&imp, recs)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error { return s.importTx(tx, &imp, rows) })
	if err != nil {
		return nil, err
	}
	return &imp, nil
}

// ImportUpload is ImportBatch for a file kept by SaveUpload: the upload is
// deleted in the same transaction, so a form sent twice imports once.
// Errors: those of ImportBatch, and not_found when the upload is gone
// (imported already, or expired).
func (s *Store) ImportUpload(ctx context.Context, uploadID string, imp models.DatasetImport, recs []models.DatasetRecord) (*models.DatasetImport, error) {
	if !models.ValidID(uploadID) {
		return nil, uploadGone()
	}
	rows, err := s.prepareImport(&imp, recs)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		// Deleting first takes the row's lock: a second transaction for the same upload waits, then finds nothing.
		res := tx.Where("id = ? AND dataset_id = ? AND expires_at > ?", uploadID, imp.DatasetID, s.now()).Delete(&models.DatasetUpload{})
		if res.Error != nil {
			return translate(res.Error, "upload")
		}
		if res.RowsAffected == 0 {
			return uploadGone()
		}
		return s.importTx(tx, &imp, rows)
	})
	if err != nil {
		return nil, err
	}
	return &imp, nil
}

// prepareImport fills the import's store-owned fields and returns the rows to
// insert, every one validated.
func (s *Store) prepareImport(imp *models.DatasetImport, recs []models.DatasetRecord) ([]models.DatasetRecord, error) {
	if !models.ValidID(imp.DatasetID) {
		return nil, notFound("dataset")
	}
	if len(recs) == 0 {
		return nil, models.Errorf(models.CodeInvalid, "There are no records to import.")
	}
	if err := models.Validate(imp); err != nil {
		return nil, err
	}
	now := s.now()
	imp.ID, imp.CreatedAt, imp.RecordCount = models.NewID(), now, len(recs)
	imp.UndoneAt, imp.UndoneByName, imp.UndoneRecords, imp.Remaining = nil, "", 0, int64(len(recs))
	rows := make([]models.DatasetRecord, len(recs))
	for i, r := range recs {
		r.ID, r.DatasetID, r.ImportID, r.CreatedAt, r.UpdatedAt = models.NewID(), imp.DatasetID, &imp.ID, now, now
		if r.Meta == nil {
			r.Meta = models.Meta{}
		}
		if err := validateImported(&r); err != nil {
			return nil, &models.Error{Code: models.CodeInvalid,
				Message: fmt.Sprintf("Record %d of %d: %s", i+1, len(recs), models.ErrorMessage(err))}
		}
		rows[i] = r
	}
	return rows, nil
}

// importTx writes an import and its records in tx, once the dataset is known to exist.
func (s *Store) importTx(tx *gorm.DB, imp *models.DatasetImport, rows []models.DatasetRecord) error {
	var d models.Dataset
	if err := tx.Select("id", "embed_provider_id", "embed_model").First(&d, "id = ?", imp.DatasetID).Error; err != nil {
		return translate(err, "dataset")
	}
	a := ActorOf(tx.Statement.Context)
	imp.CreatedByKind, imp.CreatedByID, imp.CreatedByName = a.Kind, a.ID, a.Name
	if err := tx.Create(imp).Error; err != nil {
		return translate(err, "import")
	}
	// Already in a transaction: no savepoint per batch.
	batch := tx.Session(&gorm.Session{SkipDefaultTransaction: true})
	if err := batch.CreateInBatches(rows, importBatch).Error; err != nil {
		return translate(err, "records")
	}
	return s.enqueueEmbed(tx, &d)
}

// validateImported checks a record the way CreateRecord does, and also
// rejects blank text (nothing to retrieve) and what PostgreSQL cannot store
// in text (NUL, invalid UTF-8), so an import fails the same way, before
// writing, on both databases.
func validateImported(r *models.DatasetRecord) error {
	if strings.TrimSpace(r.Text) == "" {
		return models.Errorf(models.CodeInvalid, "Text is required.")
	}
	for _, f := range []struct{ name, v string }{{"Text", r.Text}, {"Source", r.Source}} {
		if !utf8.ValidString(f.v) {
			return models.Errorf(models.CodeInvalid, "%s is not valid UTF-8.", f.name)
		}
		if strings.IndexByte(f.v, 0) >= 0 {
			return models.Errorf(models.CodeInvalid, "%s contains a NUL character.", f.name)
		}
	}
	return r.Validate()
}

// FindImports lists a dataset's imports, newest first, one cursor page at a
// time, each with how many of its records remain.
func (s *Store) FindImports(ctx context.Context, datasetID string, p models.Page) ([]models.DatasetImport, string, error) {
	q := s.conn(ctx).Model(&models.DatasetImport{}).Where("dataset_id = ?", datasetID)
	items, next, err := paginate(q, p, "id", func(i *models.DatasetImport) string { return i.ID })
	if err != nil {
		return nil, "", translate(err, "imports")
	}
	if err := s.countRemaining(ctx, items); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// CountImports counts a dataset's imports.
func (s *Store) CountImports(ctx context.Context, datasetID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.DatasetImport{}).Where("dataset_id = ?", datasetID).Count(&n).Error
	return n, translate(err, "imports")
}

// FindImport returns one import of a dataset, with how many of its records remain.
func (s *Store) FindImport(ctx context.Context, datasetID, id string) (*models.DatasetImport, error) {
	if !models.ValidID(id) || !models.ValidID(datasetID) {
		return nil, notFound("import")
	}
	var imp models.DatasetImport
	if err := s.conn(ctx).First(&imp, "id = ? AND dataset_id = ?", id, datasetID).Error; err != nil {
		return nil, translate(err, "import")
	}
	one := []models.DatasetImport{imp}
	if err := s.countRemaining(ctx, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// countRemaining sets each import's Remaining in one query.
func (s *Store) countRemaining(ctx context.Context, imps []models.DatasetImport) error {
	if len(imps) == 0 {
		return nil
	}
	ids := make([]string, len(imps))
	for i, imp := range imps {
		ids[i] = imp.ID
	}
	var rows []struct {
		ImportID string
		N        int64
	}
	err := s.conn(ctx).Model(&models.DatasetRecord{}).Select("import_id, COUNT(*) AS n").
		Where("import_id IN ?", ids).Group("import_id").Scan(&rows).Error
	if err != nil {
		return translate(err, "imports")
	}
	n := make(map[string]int64, len(rows))
	for _, r := range rows {
		n[r.ImportID] = r.N
	}
	for i := range imps {
		imps[i].Remaining = n[imps[i].ID]
	}
	return nil
}

// UndoImport removes every record an import made that the dataset still
// holds (edited ones too) and marks the import undone by the actor of ctx,
// in one transaction. It returns the import as it now is (UndoneRecords
// says how many records went). Errors: not_found (no such import in the
// dataset), conflict (undone already).
func (s *Store) UndoImport(ctx context.Context, datasetID, id string) (*models.DatasetImport, error) {
	if !models.ValidID(id) || !models.ValidID(datasetID) {
		return nil, notFound("import")
	}
	var imp models.DatasetImport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		a := ActorOf(ctx)
		// Marking first takes the row's lock: a second undo waits, then finds it undone.
		res := tx.Model(&models.DatasetImport{}).Where("id = ? AND dataset_id = ? AND undone_at IS NULL", id, datasetID).
			Updates(map[string]any{"undone_at": now, "undone_by_name": a.Name})
		if res.Error != nil {
			return translate(res.Error, "import")
		}
		if res.RowsAffected == 0 {
			if err := tx.First(&imp, "id = ? AND dataset_id = ?", id, datasetID).Error; err != nil {
				return translate(err, "import")
			}
			return models.Errorf(models.CodeConflict, "This import was undone already (%s).", undoneBy(&imp))
		}
		del := tx.Where("import_id = ? AND dataset_id = ?", id, datasetID).Delete(&models.DatasetRecord{})
		if del.Error != nil {
			return translate(del.Error, "records")
		}
		if err := tx.Model(&models.DatasetImport{}).Where("id = ?", id).Update("undone_records", del.RowsAffected).Error; err != nil {
			return translate(err, "import")
		}
		return translate(tx.First(&imp, "id = ?", id).Error, "import")
	})
	if err != nil {
		return nil, err
	}
	return &imp, nil
}

// undoneBy says who undid an import and when, for messages.
func undoneBy(imp *models.DatasetImport) string {
	when := ""
	if imp.UndoneAt != nil {
		when = " on " + imp.UndoneAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	who := imp.UndoneByName
	if who == "" {
		who = "someone"
	}
	return "by " + who + when
}

// SaveUpload keeps a file uploaded for an import, for models.UploadLifetime,
// so its preview can be shown with other options without sending it again.
// It replaces the actor's earlier upload to the same dataset and removes
// every expired upload, so abandoned files do not pile up. Errors: invalid
// (the file name), not_found (the dataset).
func (s *Store) SaveUpload(ctx context.Context, u models.DatasetUpload) (*models.DatasetUpload, error) {
	if !models.ValidID(u.DatasetID) {
		return nil, notFound("dataset")
	}
	if err := models.Validate(&u); err != nil {
		return nil, err
	}
	now := s.now()
	a := ActorOf(ctx)
	u.ID, u.CreatedAt, u.ExpiresAt, u.CreatedByID = models.NewID(), now, now.Add(models.UploadLifetime), a.Kind+":"+a.ID
	if u.Content == nil {
		u.Content = []byte{}
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var d models.Dataset
		if err := tx.Select("id").First(&d, "id = ?", u.DatasetID).Error; err != nil {
			return translate(err, "dataset")
		}
		if err := tx.Where("expires_at <= ? OR (dataset_id = ? AND created_by_id = ?)", now, u.DatasetID, u.CreatedByID).
			Delete(&models.DatasetUpload{}).Error; err != nil {
			return translate(err, "upload")
		}
		return translate(tx.Create(&u).Error, "upload")
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// FindUpload returns a dataset's upload that has not expired. Errors:
// not_found (never uploaded, imported already, or expired).
func (s *Store) FindUpload(ctx context.Context, datasetID, id string) (*models.DatasetUpload, error) {
	if !models.ValidID(id) || !models.ValidID(datasetID) {
		return nil, uploadGone()
	}
	var u models.DatasetUpload
	err := s.conn(ctx).First(&u, "id = ? AND dataset_id = ? AND expires_at > ?", id, datasetID, s.now()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, uploadGone()
	}
	if err != nil {
		return nil, translate(err, "upload")
	}
	return &u, nil
}

// uploadGone is the not-found error of an upload.
func uploadGone() error {
	return models.Errorf(models.CodeNotFound,
		"This upload is gone: it was imported already, or it expired (a file waits %d minutes for its import). Choose the file again.", int(models.UploadLifetime.Minutes()))
}
