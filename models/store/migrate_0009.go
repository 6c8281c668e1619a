package store

import "gorm.io/gorm"

// Migration 9 keeps term statistics for dataset search on PostgreSQL: how
// many records of each dataset contain each word (document frequency), so a
// search ranks only the records holding the question's rarest words instead
// of every record holding any of them (see SearchRecords).
//
//   - dataset_terms(dataset_id, term, records): term is a lexeme of
//     dataset_records.search (the 'english' configuration's, as a question's
//     words are parsed); the row with the empty term counts the dataset's
//     records. Rows may fall to 0 records and stay: they cost a few bytes.
//   - statement-level triggers on dataset_records (insert, update, delete,
//     with transition tables) keep it in step in the same transaction as the
//     write, so every write path — one record, an import, a bulk or filtered
//     delete, undoing an import, deleting a dataset — is counted without the
//     store having to remember. Each statement adds its changes per dataset
//     and term in one sorted upsert whose first row per dataset is the
//     record-count row: that row serializes concurrent writers of one dataset
//     until they commit, so they never deadlock on the term rows.
//   - existing records are counted once, here.
//
// SQLite needs nothing: its statistics are read from the FTS5 index itself
// (searchSQLiteTermStats). Do not edit: add a migration.
var migrate0009Postgres = []string{
	`CREATE TABLE dataset_terms (
		dataset_id varchar(36) NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
		term text NOT NULL,
		records bigint NOT NULL,
		PRIMARY KEY (dataset_id, term)
	)`,
	`CREATE FUNCTION dataset_terms_apply() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP = 'INSERT' THEN
			INSERT INTO dataset_terms AS t (dataset_id, term, records)
			SELECT d.dataset_id, d.term, sum(d.n) FROM (
				SELECT r.dataset_id, '' AS term, 1 AS n FROM new_rows AS r
				UNION ALL
				SELECT r.dataset_id, l.lexeme, 1 FROM new_rows AS r CROSS JOIN LATERAL unnest(r.search) AS l
			) AS d GROUP BY d.dataset_id, d.term ORDER BY d.dataset_id, d.term
			ON CONFLICT (dataset_id, term) DO UPDATE SET records = t.records + excluded.records;
		ELSE -- DELETE
			-- Records deleted along with their dataset need no counting: the
			-- dataset's rows go with it.
			INSERT INTO dataset_terms AS t (dataset_id, term, records)
			SELECT d.dataset_id, d.term, -sum(d.n) FROM (
				SELECT r.dataset_id, '' AS term, 1 AS n FROM old_rows AS r
				UNION ALL
				SELECT r.dataset_id, l.lexeme, 1 FROM old_rows AS r CROSS JOIN LATERAL unnest(r.search) AS l
			) AS d WHERE EXISTS (SELECT 1 FROM datasets WHERE datasets.id = d.dataset_id)
			GROUP BY d.dataset_id, d.term ORDER BY d.dataset_id, d.term
			ON CONFLICT (dataset_id, term) DO UPDATE SET records = t.records + excluded.records;
		END IF;
		RETURN NULL;
	END $$`,
	// The update trigger's function reads "changed": the updated records whose
	// words or dataset changed (an update of meta alone counts nothing).
	`CREATE FUNCTION dataset_terms_update() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		WITH changed AS (
			SELECT o.dataset_id AS old_ds, o.search AS old_s, n.dataset_id AS new_ds, n.search AS new_s
			FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
			WHERE o.search IS DISTINCT FROM n.search OR o.dataset_id IS DISTINCT FROM n.dataset_id
		)
		INSERT INTO dataset_terms AS t (dataset_id, term, records)
		SELECT d.dataset_id, d.term, sum(d.n) FROM (
			SELECT c.new_ds AS dataset_id, '' AS term, 1 AS n FROM changed AS c
			UNION ALL SELECT c.old_ds, '', -1 FROM changed AS c
			UNION ALL SELECT c.new_ds, l.lexeme, 1 FROM changed AS c CROSS JOIN LATERAL unnest(c.new_s) AS l
			UNION ALL SELECT c.old_ds, l.lexeme, -1 FROM changed AS c CROSS JOIN LATERAL unnest(c.old_s) AS l
		) AS d GROUP BY d.dataset_id, d.term HAVING sum(d.n) <> 0 OR d.term = ''
		ORDER BY d.dataset_id, d.term
		ON CONFLICT (dataset_id, term) DO UPDATE SET records = t.records + excluded.records;
		RETURN NULL;
	END $$`,
	`CREATE TRIGGER dataset_terms_insert AFTER INSERT ON dataset_records
		REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dataset_terms_apply()`,
	`CREATE TRIGGER dataset_terms_delete AFTER DELETE ON dataset_records
		REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dataset_terms_apply()`,
	`CREATE TRIGGER dataset_terms_update AFTER UPDATE ON dataset_records
		REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dataset_terms_update()`,
	`INSERT INTO dataset_terms (dataset_id, term, records)
		SELECT d.dataset_id, d.term, sum(d.n) FROM (
			SELECT r.dataset_id, '' AS term, 1 AS n FROM dataset_records AS r
			UNION ALL
			SELECT r.dataset_id, l.lexeme, 1 FROM dataset_records AS r CROSS JOIN LATERAL unnest(r.search) AS l
		) AS d GROUP BY d.dataset_id, d.term`,
}

func migrate0009(tx *gorm.DB) error {
	if tx.Dialector.Name() != Postgres {
		return nil
	}
	for _, q := range migrate0009Postgres {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
