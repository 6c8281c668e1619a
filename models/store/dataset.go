package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// CreateDataset validates and inserts a dataset.
func (s *Store) CreateDataset(ctx context.Context, d models.Dataset) (*models.Dataset, error) {
	d.ID = models.NewID()
	normalizeDataset(&d)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkDatasetProviders(tx, &d); err != nil {
			return err
		}
		if err := tx.Create(&d).Error; err != nil {
			return translate(err, "dataset")
		}
		return s.enqueueEmbed(tx, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateDataset validates and saves every field of the dataset; a change to
// its retrieval settings makes a new version of every bot using it, in the
// same transaction. A change of embeddings model drops the dataset's vectors
// and queues its records to be embedded again.
func (s *Store) UpdateDataset(ctx context.Context, d models.Dataset) (*models.Dataset, error) {
	normalizeDataset(&d)
	if err := d.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Dataset
		if err := tx.Select("id", "created_at", "embed_provider_id", "embed_model").First(&cur, "id = ?", d.ID).Error; err != nil {
			return translate(err, "dataset")
		}
		if err := checkDatasetProviders(tx, &d); err != nil {
			return err
		}
		d.CreatedAt = cur.CreatedAt
		if err := update(tx, &d, d.ID, "dataset"); err != nil {
			return err
		}
		if cur.EmbedModel != d.EmbedModel || !sameID(cur.EmbedProviderID, d.EmbedProviderID) {
			if err := tx.Exec("DELETE FROM record_vectors WHERE dataset_id = ?", d.ID).Error; err != nil {
				return translate(err, "vectors")
			}
			if err := s.bumpVectors(tx, d.ID, true); err != nil {
				return translate(err, "embedding state")
			}
			if err := s.enqueueEmbed(tx, &d); err != nil {
				return err
			}
		}
		return s.versionBotsUsing(tx, "bot_datasets", "dataset_id", d.ID)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func normalizeDataset(d *models.Dataset) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Alias != nil && strings.TrimSpace(*d.Alias) == "" {
		d.Alias = nil
	}
	if d.Visibility == "" {
		d.Visibility = models.VisibilityPrivate
	}
	if d.Meta == nil {
		d.Meta = models.Meta{}
	}
	d.EmbedModel, d.RerankModel = strings.TrimSpace(d.EmbedModel), strings.TrimSpace(d.RerankModel)
	for _, p := range []**string{&d.EmbedProviderID, &d.RerankProviderID} {
		if *p != nil && strings.TrimSpace(**p) == "" {
			*p = nil
		}
	}
}

// sameID compares two optional ids.
func sameID(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// FindDataset returns one dataset.
func (s *Store) FindDataset(ctx context.Context, id string) (*models.Dataset, error) {
	if !models.ValidID(id) {
		return nil, notFound("dataset")
	}
	var d models.Dataset
	if err := s.conn(ctx).First(&d, "id = ?", id).Error; err != nil {
		return nil, translate(err, "dataset")
	}
	return &d, nil
}

// FindDatasets lists datasets, newest first by default, one cursor page at a time.
func (s *Store) FindDatasets(ctx context.Context, p models.Page) ([]models.Dataset, string, error) {
	items, next, err := paginate(s.conn(ctx).Model(&models.Dataset{}), p, "id",
		func(d *models.Dataset) string { return d.ID })
	return items, next, translate(err, "datasets")
}

// AllDatasetNames returns up to limit datasets (id and name only, by name), for pickers.
func (s *Store) AllDatasetNames(ctx context.Context, limit int) ([]models.Dataset, error) {
	var out []models.Dataset
	err := s.conn(ctx).Select("id", "name").Order("name").Limit(limit).Find(&out).Error
	return out, translate(err, "datasets")
}

// BotsUsingDataset names the bots a dataset is attached to.
func (s *Store) BotsUsingDataset(ctx context.Context, id string) ([]models.BotRef, error) {
	return s.botsUsing(ctx, "bot_datasets", "dataset_id", id)
}

// DeleteDataset deletes a dataset with its records, imports and uploads, detaching it from every bot
// (each gets a new version) and conversation that used it (the dashboard
// names them before confirming).
func (s *Store) DeleteDataset(ctx context.Context, id string) error {
	return s.deleteUsed(ctx, &models.Dataset{}, id, "dataset", "bot_datasets", "dataset_id",
		"DELETE FROM bot_datasets WHERE dataset_id = ?",
		"UPDATE conversations SET dataset_id = NULL WHERE dataset_id = ?",
		"DELETE FROM dataset_records WHERE dataset_id = ?",
		"DELETE FROM dataset_uploads WHERE dataset_id = ?",
		"DELETE FROM dataset_imports WHERE dataset_id = ?")
}

// CreateRecord validates and inserts a record into an existing dataset.
func (s *Store) CreateRecord(ctx context.Context, r models.DatasetRecord) (*models.DatasetRecord, error) {
	r.ID = models.NewID()
	if r.Meta == nil {
		r.Meta = models.Meta{}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	d, err := s.FindDataset(ctx, r.DatasetID)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return translate(err, "record")
		}
		return s.enqueueEmbed(tx, d)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateRecord saves a record's text, source and meta; the record must
// belong to its dataset. A changed text drops the record's vector and queues
// it to be embedded again.
func (s *Store) UpdateRecord(ctx context.Context, r models.DatasetRecord) (*models.DatasetRecord, error) {
	if r.Meta == nil {
		r.Meta = models.Meta{}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	cur, err := s.FindRecord(ctx, r.DatasetID, r.ID)
	if err != nil {
		return nil, err
	}
	textChanged := cur.Text != r.Text
	cur.Text, cur.Source, cur.Meta = r.Text, r.Source, r.Meta
	cur.UpdatedAt = s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := update(tx, cur, cur.ID, "record"); err != nil {
			return err
		}
		if !textChanged {
			return nil
		}
		if err := tx.Exec("DELETE FROM record_vectors WHERE record_id = ?", cur.ID).Error; err != nil {
			return translate(err, "vector")
		}
		var d models.Dataset
		if err := tx.Select("id", "embed_provider_id", "embed_model").First(&d, "id = ?", cur.DatasetID).Error; err != nil {
			return translate(err, "dataset")
		}
		return s.enqueueEmbed(tx, &d)
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// FindRecord returns one record of a dataset.
func (s *Store) FindRecord(ctx context.Context, datasetID, id string) (*models.DatasetRecord, error) {
	if !models.ValidID(id) || !models.ValidID(datasetID) {
		return nil, notFound("record")
	}
	var r models.DatasetRecord
	if err := s.conn(ctx).First(&r, "id = ? AND dataset_id = ?", id, datasetID).Error; err != nil {
		return nil, translate(err, "record")
	}
	return &r, nil
}

// FindRecords lists a dataset's records, one cursor page at a time.
func (s *Store) FindRecords(ctx context.Context, datasetID string, p models.Page) ([]models.DatasetRecord, string, error) {
	q := s.conn(ctx).Model(&models.DatasetRecord{}).Where("dataset_id = ?", datasetID)
	items, next, err := paginate(q, p, "id", func(r *models.DatasetRecord) string { return r.ID })
	return items, next, translate(err, "records")
}

// CountRecords counts a dataset's records.
func (s *Store) CountRecords(ctx context.Context, datasetID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.DatasetRecord{}).Where("dataset_id = ?", datasetID).Count(&n).Error
	return n, translate(err, "records")
}

// DeleteRecord deletes one record of a dataset.
func (s *Store) DeleteRecord(ctx context.Context, datasetID, id string) error {
	if !models.ValidID(id) || !models.ValidID(datasetID) {
		return notFound("record")
	}
	res := s.conn(ctx).Delete(&models.DatasetRecord{}, "id = ? AND dataset_id = ?", id, datasetID)
	if res.Error != nil {
		return translate(res.Error, "record")
	}
	if res.RowsAffected == 0 {
		return notFound("record")
	}
	return nil
}
