package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Migration 5 makes session tokens accountable and adds one-time flashes.
//
// A conversation session token records the API secret that created it
// (secret_id; revoking the secret ends its tokens, and deleting it deletes
// them) and when it was last used (last_used_at). The columns are added with
// plain ALTER TABLE statements, the foreign key inline: SQLite can add a
// column that references another table (its default being NULL) but cannot
// add a constraint to an existing table without rebuilding it.
//
// Flashes are short-lived, one-time values bound to an operator's sign-in
// session, such as a new API secret to show once or an API key typed into a
// form that failed validation. Their payload is encrypted under a key derived
// from the raw session cookie token, which the database never holds, so the
// database alone cannot reveal it. Signing out deletes them with the session.
//
// Frozen copies of the structs as of migration 5. Do not edit: add a migration.

type m5Flash struct {
	ID        string            `gorm:"primaryKey;size:36"`
	SessionID string            `gorm:"size:64;not null;index:idx_flashes_session"`
	Kind      string            `gorm:"size:100;not null"`
	Payload   string            `gorm:"type:text;not null"`
	ExpiresAt time.Time         `gorm:"not null;index:idx_flashes_expires"`
	CreatedAt time.Time         `gorm:"not null"`
	Session   m1OperatorSession `gorm:"foreignKey:SessionID;constraint:OnDelete:CASCADE"`
}

func (m5Flash) TableName() string { return "flashes" }

// migrate0005Columns adds the session tokens' columns and an index on the
// secret, per dialect (the column types are the ones GORM gives a *string of
// size 36 and a *time.Time).
var migrate0005Columns = map[string][]string{
	Postgres: {
		`ALTER TABLE conversation_sessions ADD COLUMN secret_id varchar(36) REFERENCES api_secrets(id) ON DELETE CASCADE`,
		`ALTER TABLE conversation_sessions ADD COLUMN last_used_at timestamptz`,
		`CREATE INDEX idx_conversation_sessions_secret ON conversation_sessions (secret_id)`,
	},
	SQLite: {
		`ALTER TABLE conversation_sessions ADD COLUMN secret_id text REFERENCES api_secrets(id) ON DELETE CASCADE`,
		`ALTER TABLE conversation_sessions ADD COLUMN last_used_at datetime`,
		`CREATE INDEX idx_conversation_sessions_secret ON conversation_sessions (secret_id)`,
	},
}

func migrate0005(tx *gorm.DB) error {
	name := tx.Dialector.Name()
	stmts, ok := migrate0005Columns[name]
	if !ok {
		return fmt.Errorf("session token columns: unsupported database %q", name)
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return tx.Migrator().CreateTable(&m5Flash{})
}
