package store

import "gorm.io/gorm"

// Migration 15 adds the web chat widget: its settings as typed columns of
// integrations (widget_*), its sealed identity secret, and the integration a
// conversation session token was issued for (conversation_sessions.
// integration_id), so the API answers a widget's token with CORS for that
// widget's allowed origins only. Plain ALTER TABLE statements, which both
// dialects read alike (the foreign key inline: SQLite cannot add one later).
// Do not edit: add a migration.
func migrate0015(tx *gorm.DB) error {
	stmts := []string{
		"ALTER TABLE integrations ADD COLUMN widget_title VARCHAR(200) NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_intro TEXT NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_initial TEXT NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_placeholder VARCHAR(200) NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_theme VARCHAR(10) NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_layout VARCHAR(10) NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_origin TEXT NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_stream BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_restart_conversation BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_export_conversation BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_contact_collection BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_language VARCHAR(35) NOT NULL DEFAULT ''",
		"ALTER TABLE integrations ADD COLUMN widget_powered_by BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_require_identity BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE integrations ADD COLUMN widget_token_lifetime BIGINT NOT NULL DEFAULT 0",
		"ALTER TABLE integrations ADD COLUMN identity_secret_enc TEXT",
		"ALTER TABLE conversation_sessions ADD COLUMN integration_id VARCHAR(36) REFERENCES integrations(id) ON DELETE CASCADE",
	}
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
