package store

import "gorm.io/gorm"

// Migration 13 gives each bot the id of its latest version (bots.version_id,
// kept by the store with every new version), so a turn reads its bot's
// configuration from the conversation's row and the version cache alone.
// Do not edit: add a migration.
func migrate0013(tx *gorm.DB) error {
	if err := tx.Exec("ALTER TABLE bots ADD COLUMN version_id VARCHAR(36)").Error; err != nil {
		return err
	}
	return tx.Exec(`UPDATE bots SET version_id = (SELECT v.id FROM bot_versions AS v
		WHERE v.bot_id = bots.id ORDER BY v.number DESC LIMIT 1)`).Error
}
