package store

import "gorm.io/gorm"

// Migration 20 indexes each conversation's dialogue alone
// (idx_messages_dialogue, partial: user, bot and instruction messages, by
// id): every turn reads the newest of them (RecentDialogue), which through
// idx_messages_conversation or the primary key also walks the context and
// activity messages between them — and, when the planner takes the primary
// key for a conversation it thinks large, the other conversations' newest
// messages too. The same statement on both databases; RecentDialogue states
// the predicate exactly as written here. Do not edit: add a migration.
func migrate0020(tx *gorm.DB) error {
	return tx.Exec(`CREATE INDEX IF NOT EXISTS idx_messages_dialogue ON messages (conversation_id, id) WHERE ` + dialogueMessage).Error
}

// dialogueMessage is the predicate of idx_messages_dialogue (migration 20).
// Never change it: a query must state it exactly so for the index to serve.
const dialogueMessage = "type IN ('user', 'bot', 'instruction')"
