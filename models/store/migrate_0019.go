package store

import "gorm.io/gorm"

// Migration 19 indexes the unfinished turns of each conversation alone
// (idx_turns_unfinished, partial: status queued or running), in the order
// they are answered. Every post checks whether its conversation has one
// (PostAndStart), every holder of a conversation's lock reads them, and a
// long conversation's finished turns otherwise all pass through
// idx_turns_conversation to find none. The same statement on both
// databases. Queries use the predicate as written (unfinishedTurn), so the
// planner can tell the index applies. Do not edit: add a migration.
func migrate0019(tx *gorm.DB) error {
	return tx.Exec(`CREATE INDEX IF NOT EXISTS idx_turns_unfinished ON turns (conversation_id, user_message_id, id) WHERE ` + unfinishedTurn).Error
}

// unfinishedTurn is the predicate of a queued or running turn, as
// idx_turns_unfinished (migration 19) is defined with it. Never change it:
// a query must state it exactly so for the index to serve.
const unfinishedTurn = "status IN ('queued', 'running')"
