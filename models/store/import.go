package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"parley/models"
)

// importBatch is how many records one INSERT writes: 500 rows of 7 columns
// stay well under both databases' limits on bound parameters.
const importBatch = 500

// ImportRecords adds many records to a dataset at once, as a file import
// does: every record is validated first (an error names the first bad one by
// its 1-based position), then all are inserted in one transaction, in batches
// of normal INSERTs so the full-text index (SQLite triggers, PostgreSQL's
// generated column) covers them at once. It writes all of them or none, and
// returns how many it wrote. The records' ids, dataset and timestamps are set
// here; recs is not changed.
func (s *Store) ImportRecords(ctx context.Context, datasetID string, recs []models.DatasetRecord) (int, error) {
	if !models.ValidID(datasetID) {
		return 0, notFound("dataset")
	}
	if len(recs) == 0 {
		return 0, nil
	}
	now := s.now()
	rows := make([]models.DatasetRecord, len(recs))
	for i, r := range recs {
		r.ID, r.DatasetID, r.CreatedAt, r.UpdatedAt = models.NewID(), datasetID, now, now
		if r.Meta == nil {
			r.Meta = models.Meta{}
		}
		if err := validateImported(&r); err != nil {
			return 0, &models.Error{Code: models.CodeInvalid,
				Message: fmt.Sprintf("Record %d of %d: %s", i+1, len(recs), models.ErrorMessage(err))}
		}
		rows[i] = r
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var d models.Dataset
		if err := tx.Select("id").First(&d, "id = ?", datasetID).Error; err != nil {
			return translate(err, "dataset")
		}
		// Already in a transaction: no savepoint per batch.
		batch := tx.Session(&gorm.Session{SkipDefaultTransaction: true})
		return translate(batch.CreateInBatches(rows, importBatch).Error, "records")
	})
	if err != nil {
		return 0, err
	}
	return len(rows), nil
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
