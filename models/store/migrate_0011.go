package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Migration 11 makes every import a batch and lets the record list filter:
//
//   - dataset_imports: one row per imported file (who, when, file name,
//     format, how many records, and when it was undone and by whom);
//   - dataset_records.import_id: the import that made a record (NULL for
//     records added one by one), indexed, so an import's records are found
//     and removed in one statement;
//   - an index on (dataset_id, source) for the "source starts with" filter
//     (PostgreSQL: on the first 200 characters in byte order, COLLATE "C",
//     so a prefix is a range and a long source fits a B-tree entry);
//   - dataset_uploads: a file kept for a short while between its preview and
//     its import, so it is uploaded once.
//
// Existing records keep import_id NULL: nobody knows which file made them.
// Frozen copies of the structs as of migration 11. Do not edit: add a migration.

type m11DatasetImport struct {
	ID            string    `gorm:"primaryKey;size:36;index:idx_dataset_imports_dataset,priority:2"`
	DatasetID     string    `gorm:"size:36;not null;index:idx_dataset_imports_dataset,priority:1"`
	FileName      string    `gorm:"size:1000;not null"`
	Format        string    `gorm:"size:20;not null"`
	RecordCount   int       `gorm:"not null"`
	CreatedByKind string    `gorm:"size:20;not null"`
	CreatedByID   string    `gorm:"size:100;not null"`
	CreatedByName string    `gorm:"size:254;not null"`
	CreatedAt     time.Time `gorm:"not null"`
	UndoneAt      *time.Time
	UndoneByName  string    `gorm:"size:254;not null"`
	UndoneRecords int       `gorm:"not null"`
	Dataset       m1Dataset `gorm:"foreignKey:DatasetID;constraint:OnDelete:CASCADE"`
}

func (m11DatasetImport) TableName() string { return "dataset_imports" }

type m11DatasetUpload struct {
	ID          string    `gorm:"primaryKey;size:36"`
	DatasetID   string    `gorm:"size:36;not null;index:idx_dataset_uploads_dataset"`
	FileName    string    `gorm:"size:1000;not null"`
	Content     []byte    `gorm:"not null"`
	CreatedByID string    `gorm:"size:100;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	ExpiresAt   time.Time `gorm:"not null;index:idx_dataset_uploads_expires"`
	Dataset     m1Dataset `gorm:"foreignKey:DatasetID;constraint:OnDelete:CASCADE"`
}

func (m11DatasetUpload) TableName() string { return "dataset_uploads" }

// migrate0011Columns adds the import column and the indexes, per dialect.
var migrate0011Columns = map[string][]string{
	Postgres: {
		`ALTER TABLE dataset_records ADD COLUMN import_id varchar(36) REFERENCES dataset_imports(id) ON DELETE SET NULL`,
		`CREATE INDEX idx_dataset_records_import ON dataset_records (import_id)`,
		`CREATE INDEX idx_dataset_records_source ON dataset_records (dataset_id, (left(source, 200)) COLLATE "C")`,
	},
	SQLite: {
		`ALTER TABLE dataset_records ADD COLUMN import_id varchar(36) REFERENCES dataset_imports(id) ON DELETE SET NULL`,
		`CREATE INDEX idx_dataset_records_import ON dataset_records (import_id)`,
		`CREATE INDEX idx_dataset_records_source ON dataset_records (dataset_id, source)`,
	},
}

func migrate0011(tx *gorm.DB) error {
	stmts, ok := migrate0011Columns[tx.Dialector.Name()]
	if !ok {
		return fmt.Errorf("imports: unsupported database %q", tx.Dialector.Name())
	}
	if err := tx.Migrator().CreateTable(&m11DatasetImport{}, &m11DatasetUpload{}); err != nil {
		return err
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
