package store

import (
	"fmt"

	"gorm.io/gorm"
)

// Migration 2 indexes dataset records for full-text search, so retrieval finds
// the records that best match a question. Records written afterwards are
// indexed by the database itself (a generated column, or triggers), in the
// same statement, so a record is searchable (or gone) as soon as it is saved.
// Existing records are indexed by the migration. Do not edit: add a migration.

// migrate0002Postgres adds a stored generated tsvector of text and source, and
// a GIN index on it. Adding the column computes it for every existing row.
//
// The text search configuration is 'english' rather than 'simple': its stemmer
// lets "refunds" find "refund" and "cancelling" find "cancel", which a user's
// question needs far more often than exact forms, and it agrees with the
// SQLite index's porter stemmer so both databases find the same records. Words
// of other languages are only lower-cased (the English stemmer leaves them
// mostly alone), and English stop words are not indexed.
var migrate0002Postgres = []string{
	`ALTER TABLE dataset_records ADD COLUMN search tsvector
		GENERATED ALWAYS AS (to_tsvector('english'::regconfig, coalesce(text, '') || ' ' || coalesce(source, ''))) STORED`,
	`CREATE INDEX idx_dataset_records_search ON dataset_records USING GIN (search)`,
}

// migrate0002SQLite adds an FTS5 index over the records table (external
// content: the text is stored once, in dataset_records, and the index refers
// to rows by rowid), triggers that keep it in step with every insert, update
// and delete, and a rebuild that indexes the rows already there.
//
// Keep in mind: the index relies on rowids, so rows must never be rewritten
// with INSERT OR REPLACE (its implicit delete fires no trigger unless
// recursive_triggers is on; ON CONFLICT DO UPDATE is fine), and after anything
// that could renumber rowids (a VACUUM of a table without an INTEGER PRIMARY
// KEY may) run INSERT INTO dataset_records_fts(dataset_records_fts) VALUES('rebuild').
var migrate0002SQLite = []string{
	`CREATE VIRTUAL TABLE dataset_records_fts USING fts5(
		text, source,
		content='dataset_records', content_rowid='rowid',
		tokenize='porter unicode61')`,
	`CREATE TRIGGER dataset_records_fts_insert AFTER INSERT ON dataset_records BEGIN
		INSERT INTO dataset_records_fts(rowid, text, source) VALUES (new.rowid, new.text, new.source);
	END`,
	`CREATE TRIGGER dataset_records_fts_delete AFTER DELETE ON dataset_records BEGIN
		INSERT INTO dataset_records_fts(dataset_records_fts, rowid, text, source) VALUES ('delete', old.rowid, old.text, old.source);
	END`,
	`CREATE TRIGGER dataset_records_fts_update AFTER UPDATE OF text, source ON dataset_records BEGIN
		INSERT INTO dataset_records_fts(dataset_records_fts, rowid, text, source) VALUES ('delete', old.rowid, old.text, old.source);
		INSERT INTO dataset_records_fts(rowid, text, source) VALUES (new.rowid, new.text, new.source);
	END`,
	`INSERT INTO dataset_records_fts(dataset_records_fts) VALUES ('rebuild')`,
}

func migrate0002(tx *gorm.DB) error {
	var stmts []string
	switch name := tx.Dialector.Name(); name {
	case Postgres:
		stmts = migrate0002Postgres
	case SQLite:
		stmts = migrate0002SQLite
	default:
		return fmt.Errorf("full-text search: unsupported database %q", name)
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
