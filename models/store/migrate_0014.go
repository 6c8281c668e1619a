package store

import "gorm.io/gorm"

// Migration 14 indexes what the Analytics page reads for a date range:
// conversations by creation time (with the columns it counts, so PostgreSQL
// can answer from the index), messages by creation time with their type and
// conversation (replacing idx_messages_created, a prefix of it), and the
// answers that say the bot did not know (a partial index: a few percent of
// the messages, so "unanswered" reads them instead of every answer's text).
// The partial index's predicate must stay word for word the one
// dontKnowSQL builds from dontKnowPatterns, or the planners will not use it.
// Do not edit: add a migration.
func migrate0014(tx *gorm.DB) error {
	for _, q := range []string{
		"CREATE INDEX idx_conversations_created ON conversations (created_at, kind, bot_id, integration_id, contact_id)",
		"CREATE INDEX idx_messages_created_type ON messages (created_at, type, conversation_id)",
		"DROP INDEX idx_messages_created",
		`CREATE INDEX idx_messages_dont_know ON messages (id) WHERE (text LIKE 'I don''t know%' OR text LIKE 'I do not know%' OR text LIKE 'I don’t know%')`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
