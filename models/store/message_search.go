package store

import (
	"context"

	"gorm.io/gorm"

	"parley/models"
)

// SearchMessages returns the user and bot messages containing every word of
// f.Text (stemmed: "refunds" finds "refund") in the conversations f keeps,
// newest first, one cursor page (a message id) at a time. Search runs on the
// full-text index of migration 12 (a GIN-indexed tsvector on PostgreSQL, FTS5
// on SQLite), kept by the database itself on every insert, however the
// message was written. A search without words finds nothing.
func (s *Store) SearchMessages(ctx context.Context, f models.MessageSearch) ([]models.MessageHit, string, error) {
	terms := models.MessageSearchTerms(f.Text)
	if len(terms) == 0 || !validConversationQuery(f.ConversationQuery) {
		return nil, "", nil
	}
	if s.dialect == Postgres {
		hits, next, err := s.searchMessagesPostgres(ctx, f, terms)
		return hits, next, translate(err, "messages")
	}
	hits, next, err := s.searchMessages(s.conn(ctx).Table(messageFromSQLite), f, terms)
	return hits, next, translate(err, "messages")
}

// searchMessages runs a search's page query on q, whose FROM names the
// messages m.
func (s *Store) searchMessages(q *gorm.DB, f models.MessageSearch, terms []string) ([]models.MessageHit, string, error) {
	q = q.
		Select("m.id, m.conversation_id, m.type, m.text, m.turn_id, m.created_at, m.updated_at, conversations.name AS conversation_name, conversations.bot_id, b.name AS bot_name").
		Joins("JOIN conversations ON conversations.id = m.conversation_id").
		Joins("LEFT JOIN bots AS b ON b.id = conversations.bot_id")
	if s.dialect == Postgres {
		q = messageMatchPostgres(q, terms)
	} else {
		q = messageMatchSQLite(q, terms)
	}
	q = conversationScope(q, f.ConversationQuery)
	return paginate(q, f.Page, "m.id", func(h *models.MessageHit) string { return h.ID })
}
