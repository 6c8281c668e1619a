package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// JobEmbed embeds the records of a dataset (its ID) that have no vector of
// the dataset's embeddings model yet.
const JobEmbed = "dataset_embed"

// datasetEmbedding is a dataset's embedding state: a change counter that
// every write of its vectors bumps (so in-memory vector caches know when to
// reload) and the provider's last error.
type datasetEmbedding struct {
	DatasetID   string `gorm:"primaryKey;size:36"`
	Version     int64  `gorm:"not null"`
	LastError   string `gorm:"type:text;not null"`
	LastErrorAt *time.Time
	UpdatedAt   time.Time `gorm:"not null"`
}

func (datasetEmbedding) TableName() string { return "dataset_embeddings" }

// enqueueEmbed queues the embedding of a dataset's new or changed records in
// tx when the dataset has an embeddings model. Without a job queue (tests,
// command-line tools) it does nothing: the server queues every embedding
// dataset when it starts (EnqueueEmbeddings), which catches up.
func (s *Store) enqueueEmbed(tx *gorm.DB, d *models.Dataset) error {
	if d == nil || !d.Embeds() {
		return nil
	}
	s.queueMu.RLock()
	q := s.queue
	s.queueMu.RUnlock()
	if q == nil {
		return nil
	}
	return s.enqueue(tx, Job{Kind: JobEmbed, ID: d.ID})
}

// EnqueueEmbeddings queues the embedding of every dataset that has an
// embeddings model (a job finds nothing to do when all is embedded): the
// server calls it at start, so records written while no queue ran (the
// command line, an import during a restart) are embedded too.
func (s *Store) EnqueueEmbeddings(ctx context.Context) (int, error) {
	var ids []string
	if err := s.conn(ctx).Model(&models.Dataset{}).Where("embed_provider_id IS NOT NULL AND embed_model <> ''").
		Order("id").Limit(10000).Pluck("id", &ids).Error; err != nil {
		return 0, translate(err, "datasets")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	jobs := make([]Job, len(ids))
	for i, id := range ids {
		jobs[i] = Job{Kind: JobEmbed, ID: id}
	}
	err := s.tx(ctx, func(tx *gorm.DB) error { return s.enqueue(tx, jobs...) })
	return len(ids), err
}

// bumpVectors records that a dataset's vectors changed (and clears or sets
// its last error when clearErr or errMsg say so), in tx.
func (s *Store) bumpVectors(tx *gorm.DB, datasetID string, clearErr bool) error {
	now := s.now()
	row := datasetEmbedding{DatasetID: datasetID, Version: 1, UpdatedAt: now}
	set := map[string]any{"version": gorm.Expr("dataset_embeddings.version + 1"), "updated_at": now}
	if clearErr {
		set["last_error"], set["last_error_at"] = "", nil
	}
	return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dataset_id"}}, DoUpdates: clause.Assignments(set)}).
		Create(&row).Error
}

// PendingRecords returns up to limit records of a dataset that have no
// vector of model (new, changed since embedded, or embedded with another
// model), in id order, after the id after ("" from the first), so a long
// embedding run reads each batch from where the last one ended.
func (s *Store) PendingRecords(ctx context.Context, datasetID, model, after string, limit int) ([]models.DatasetRecord, error) {
	var out []models.DatasetRecord
	q := s.conn(ctx).Model(&models.DatasetRecord{}).
		Joins("LEFT JOIN record_vectors v ON v.record_id = dataset_records.id AND v.model = ?", model).
		Where("dataset_records.dataset_id = ? AND v.record_id IS NULL", datasetID)
	if after != "" {
		q = q.Where("dataset_records.id > ?", after)
	}
	err := q.Order("dataset_records.id").Limit(limit).Find(&out).Error
	return out, translate(err, "records")
}

// SaveVectors stores the vectors of records of a dataset (each RecordVector
// names its record; recs are the records as they were read when embedded)
// and bumps the dataset's change counter, clearing its last error. A record
// deleted or changed since it was read is skipped: its text is no longer
// the one embedded (a changed record is pending again). It returns how many
// vectors it stored.
func (s *Store) SaveVectors(ctx context.Context, datasetID string, recs []models.DatasetRecord, vecs []models.RecordVector) (int, error) {
	if len(vecs) == 0 {
		return 0, nil
	}
	saved := 0
	read := make(map[string]time.Time, len(recs))
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		read[r.ID] = r.UpdatedAt
		ids = append(ids, r.ID)
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur []models.DatasetRecord
		if err := tx.Select("id", "updated_at").Where("dataset_id = ? AND id IN ?", datasetID, ids).Find(&cur).Error; err != nil {
			return translate(err, "records")
		}
		same := make(map[string]bool, len(cur))
		for _, r := range cur {
			if t, ok := read[r.ID]; ok && t.Equal(r.UpdatedAt) {
				same[r.ID] = true
			}
		}
		now := s.now()
		rows := make([]models.RecordVector, 0, len(vecs))
		for _, v := range vecs {
			if same[v.RecordID] {
				v.DatasetID, v.CreatedAt = datasetID, now
				rows = append(rows, v)
			}
		}
		if len(rows) > 0 {
			err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "record_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"model", "dims", "vector", "created_at"})}).
				CreateInBatches(&rows, 200).Error
			if err != nil {
				return translate(err, "vectors")
			}
		}
		saved = len(rows)
		return s.bumpVectors(tx, datasetID, true)
	})
	if err != nil {
		return 0, err
	}
	return saved, nil
}

// SetEmbedError records the provider's last failure to embed a dataset's
// records, in plain words, for the dataset page and the API.
func (s *Store) SetEmbedError(ctx context.Context, datasetID, msg string) error {
	now := s.now()
	row := datasetEmbedding{DatasetID: datasetID, LastError: msg, LastErrorAt: &now, UpdatedAt: now}
	err := s.conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dataset_id"}},
		DoUpdates: clause.Assignments(map[string]any{"last_error": msg, "last_error_at": now, "updated_at": now})}).
		Create(&row).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return notFound("dataset")
	}
	return translate(err, "embedding state")
}

// VectorVersion returns a dataset's vector change counter (0 before any vector).
func (s *Store) VectorVersion(ctx context.Context, datasetID string) (int64, error) {
	var v []int64
	err := s.conn(ctx).Model(&datasetEmbedding{}).Where("dataset_id = ?", datasetID).Limit(1).Pluck("version", &v).Error
	if err != nil || len(v) == 0 {
		return 0, translate(err, "embedding state")
	}
	return v[0], nil
}

// EmbeddingState says how far a dataset is embedded with its embeddings model.
func (s *Store) EmbeddingState(ctx context.Context, d *models.Dataset) (models.EmbeddingState, error) {
	st := models.EmbeddingState{Model: d.EmbedModel}
	db := s.conn(ctx)
	var row datasetEmbedding
	err := db.Where("dataset_id = ?", d.ID).Limit(1).Find(&row).Error
	if err != nil {
		return st, translate(err, "embedding state")
	}
	st.Version, st.LastError, st.LastErrorAt = row.Version, row.LastError, row.LastErrorAt
	if st.Total, err = s.CountRecords(ctx, d.ID); err != nil {
		return st, err
	}
	if d.Embeds() {
		err = db.Model(&models.RecordVector{}).Where("dataset_id = ? AND model = ?", d.ID, d.EmbedModel).Count(&st.Embedded).Error
	}
	return st, translate(err, "embedding state")
}

// EachVector calls fn with every vector of model in a dataset, streamed from
// the database (fn must copy what it keeps: the bytes are reused).
func (s *Store) EachVector(ctx context.Context, datasetID, model string, fn func(recordID string, vec []byte) error) error {
	rows, err := s.conn(ctx).Model(&models.RecordVector{}).Select("record_id", "vector").
		Where("dataset_id = ? AND model = ?", datasetID, model).Rows()
	if err != nil {
		return translate(err, "vectors")
	}
	defer rows.Close()
	var (
		id  string
		vec []byte
	)
	for rows.Next() {
		if err := rows.Scan(&id, &vec); err != nil {
			return translate(err, "vectors")
		}
		if err := fn(id, vec); err != nil {
			return err
		}
	}
	return translate(rows.Err(), "vectors")
}

// checkDatasetProviders makes sure the providers a dataset names exist.
func checkDatasetProviders(tx *gorm.DB, d *models.Dataset) error {
	fields := map[string]string{}
	for _, p := range []struct {
		id    *string
		field string
	}{{d.EmbedProviderID, "embedProviderId"}, {d.RerankProviderID, "rerankProviderId"}} {
		if p.id == nil {
			continue
		}
		var n int64
		if models.ValidID(*p.id) {
			if err := tx.Model(&models.Provider{}).Where("id = ?", *p.id).Count(&n).Error; err != nil {
				return translate(err, "provider")
			}
		}
		if n == 0 {
			fields[p.field] = "No such provider: choose one configured on the Providers page."
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &models.Error{Code: models.CodeInvalid, Message: "Choose providers that are configured.", Fields: fields}
}
