package store

import (
	"fmt"

	"gorm.io/gorm"
)

// migrate0016Statements gives datasets an embeddings model and a rerank model
// (each a configured provider and a model name, both optional), stores record
// vectors portably (little-endian float32 bytes, the same on both databases,
// deleted with their record or dataset), keeps each dataset's embedding state
// (a change counter for caches and the last error), and lets a turn record
// say how it retrieved: the mode, why it fell back, and each record's
// keyword, vector, fused and rerank scores.
var migrate0016Statements = map[string][]string{
	Postgres: {
		`ALTER TABLE datasets ADD COLUMN embed_provider_id varchar(36)`,
		`ALTER TABLE datasets ADD COLUMN embed_model varchar(200) NOT NULL DEFAULT ''`,
		`ALTER TABLE datasets ADD COLUMN rerank_provider_id varchar(36)`,
		`ALTER TABLE datasets ADD COLUMN rerank_model varchar(200) NOT NULL DEFAULT ''`,
		`CREATE TABLE record_vectors (
			record_id varchar(36) PRIMARY KEY REFERENCES dataset_records(id) ON DELETE CASCADE,
			dataset_id varchar(36) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
			model varchar(200) NOT NULL,
			dims integer NOT NULL,
			vector bytea NOT NULL,
			created_at timestamptz NOT NULL)`,
		`CREATE INDEX idx_record_vectors_dataset ON record_vectors (dataset_id, model)`,
		`CREATE TABLE dataset_embeddings (
			dataset_id varchar(36) PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
			version bigint NOT NULL DEFAULT 0,
			last_error text NOT NULL DEFAULT '',
			last_error_at timestamptz,
			updated_at timestamptz NOT NULL)`,
		`ALTER TABLE turns ADD COLUMN retrieval varchar(20) NOT NULL DEFAULT ''`,
		`ALTER TABLE turns ADD COLUMN retrieval_note text NOT NULL DEFAULT ''`,
		`ALTER TABLE turn_records ADD COLUMN keyword_score double precision`,
		`ALTER TABLE turn_records ADD COLUMN vector_score double precision`,
		`ALTER TABLE turn_records ADD COLUMN fused_score double precision`,
		`ALTER TABLE turn_records ADD COLUMN rerank_score double precision`,
	},
	SQLite: {
		`ALTER TABLE datasets ADD COLUMN embed_provider_id varchar(36)`,
		`ALTER TABLE datasets ADD COLUMN embed_model varchar(200) NOT NULL DEFAULT ''`,
		`ALTER TABLE datasets ADD COLUMN rerank_provider_id varchar(36)`,
		`ALTER TABLE datasets ADD COLUMN rerank_model varchar(200) NOT NULL DEFAULT ''`,
		`CREATE TABLE record_vectors (
			record_id varchar(36) PRIMARY KEY REFERENCES dataset_records(id) ON DELETE CASCADE,
			dataset_id varchar(36) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
			model varchar(200) NOT NULL,
			dims integer NOT NULL,
			vector blob NOT NULL,
			created_at datetime NOT NULL)`,
		`CREATE INDEX idx_record_vectors_dataset ON record_vectors (dataset_id, model)`,
		`CREATE TABLE dataset_embeddings (
			dataset_id varchar(36) PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,
			version integer NOT NULL DEFAULT 0,
			last_error text NOT NULL DEFAULT '',
			last_error_at datetime,
			updated_at datetime NOT NULL)`,
		`ALTER TABLE turns ADD COLUMN retrieval varchar(20) NOT NULL DEFAULT ''`,
		`ALTER TABLE turns ADD COLUMN retrieval_note text NOT NULL DEFAULT ''`,
		`ALTER TABLE turn_records ADD COLUMN keyword_score real`,
		`ALTER TABLE turn_records ADD COLUMN vector_score real`,
		`ALTER TABLE turn_records ADD COLUMN fused_score real`,
		`ALTER TABLE turn_records ADD COLUMN rerank_score real`,
	},
}

// Migration 16: semantic and reranked retrieval. Do not edit: add a migration.
func migrate0016(tx *gorm.DB) error {
	stmts, ok := migrate0016Statements[tx.Dialector.Name()]
	if !ok {
		return fmt.Errorf("semantic retrieval: unsupported database %q", tx.Dialector.Name())
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
