package store

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// CreateConversation validates and inserts a conversation, with optional
// initial messages, in one transaction. Referenced bot, dataset and skillset
// must exist. A channel's conversations are made by GetOrCreateConversation
// and CreateChannelConversation, so the integration and thread are not taken here.
func (s *Store) CreateConversation(ctx context.Context, c models.Conversation, msgs []models.Message) (*models.Conversation, error) {
	c.ID = models.NewID()
	c.IntegrationID, c.ChannelThreadID = nil, nil
	c.Name = strings.TrimSpace(c.Name)
	if c.Meta == nil {
		c.Meta = models.Meta{}
	}
	if c.Kind == "" {
		c.Kind = models.ConversationChat
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkRefs(tx, c); err != nil {
			return err
		}
		if err := tx.Omit("Bot").Create(&c).Error; err != nil {
			return translate(err, "conversation")
		}
		for i := range msgs {
			msgs[i].ConversationID = c.ID
			if _, err := s.createMessage(tx, msgs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func checkRefs(tx *gorm.DB, c models.Conversation) error {
	refs := []struct {
		id    *string
		model any
		field string
		what  string
	}{
		{c.BotID, &models.Bot{}, "botId", "bot"},
		{c.DatasetID, &models.Dataset{}, "datasetId", "dataset"},
		{c.SkillsetID, &models.Skillset{}, "skillsetId", "skillset"},
	}
	for _, r := range refs {
		if r.id == nil {
			continue
		}
		if err := checkIDs(tx, r.model, []string{*r.id}, r.field, r.what); err != nil {
			return err
		}
	}
	return nil
}

// UpdateConversation validates and saves a conversation's fields.
func (s *Store) UpdateConversation(ctx context.Context, c models.Conversation) (*models.Conversation, error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Meta == nil {
		c.Meta = models.Meta{}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.Conversation
		if err := tx.Select("id", "created_at", "kind", "pinned", "integration_id", "channel_thread_id").First(&cur, "id = ?", c.ID).Error; err != nil {
			return translate(err, "conversation")
		}
		if err := checkRefs(tx, c); err != nil {
			return err
		}
		// What kind of conversation it is, what it is pinned to, and the
		// channel it came through (the channel's to say) stay.
		c.CreatedAt, c.Kind, c.Pinned = cur.CreatedAt, cur.Kind, cur.Pinned
		c.IntegrationID, c.ChannelThreadID = cur.IntegrationID, cur.ChannelThreadID
		return update(tx, &c, c.ID, "conversation", "Bot")
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// FindConversation returns one conversation with its bot, if it still has one.
func (s *Store) FindConversation(ctx context.Context, id string) (*models.Conversation, error) {
	if !models.ValidID(id) {
		return nil, notFound("conversation")
	}
	convs, err := s.findConversationsWithBot(ctx, "c.id = ?", id)
	if err != nil {
		return nil, translate(err, "conversation")
	}
	if len(convs) == 0 {
		return nil, notFound("conversation")
	}
	return &convs[0], nil
}

// FindConversationsByID returns the conversations of ids that exist, each
// with its bot as FindConversation has it, by id (at most
// models.MaxPageSize ids are read).
func (s *Store) FindConversationsByID(ctx context.Context, ids []string) (map[string]models.Conversation, error) {
	out := map[string]models.Conversation{}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !models.ValidID(id) })
	if len(ids) > models.MaxPageSize {
		ids = ids[:models.MaxPageSize]
	}
	if len(ids) == 0 {
		return out, nil
	}
	convs, err := s.findConversationsWithBot(ctx, "c.id IN ?", ids)
	if err != nil {
		return nil, translate(err, "conversation")
	}
	for _, c := range convs {
		out[c.ID] = c
	}
	return out, nil
}

// FindConversations lists conversations, newest first by default, one
// cursor page at a time: real ones only, unless f.IncludeTests.
func (s *Store) FindConversations(ctx context.Context, f models.ConversationFilter) ([]models.Conversation, string, error) {
	q := s.conn(ctx).Model(&models.Conversation{}).Preload("Bot", func(db *gorm.DB) *gorm.DB {
		return db.Select("id", "name")
	})
	if !f.IncludeTests {
		q = q.Where("kind = ?", models.ConversationChat)
	}
	if f.BotID != "" {
		q = q.Where("bot_id = ?", f.BotID)
	}
	if f.IntegrationID != "" {
		q = q.Where("integration_id = ?", f.IntegrationID)
	}
	if f.ThreadID != "" {
		q = q.Where("channel_thread_id = ?", f.ThreadID)
	}
	if f.ContactID != "" {
		q = q.Where("contact_id = ?", f.ContactID)
	}
	if !f.Since.IsZero() {
		q = q.Where("created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created_at < ?", f.Until.UTC())
	}
	items, next, err := paginate(q, f.Page, "id", func(c *models.Conversation) string { return c.ID })
	return items, next, translate(err, "conversations")
}

// DeleteConversation deletes a conversation with its messages and sessions.
func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.Conversation{}, id, "conversation",
		"DELETE FROM messages WHERE conversation_id = ?",
		"DELETE FROM conversation_sessions WHERE conversation_id = ?")
}

// CreateMessage validates and appends a message to an existing conversation.
func (s *Store) CreateMessage(ctx context.Context, m models.Message) (*models.Message, error) {
	var out *models.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Conversation{}).Where("id = ?", m.ConversationID).Count(&n).Error; err != nil {
			return translate(err, "conversation")
		}
		if n == 0 {
			return notFound("conversation")
		}
		var err error
		out, err = s.createMessage(tx, m)
		return err
	})
	return out, err
}

func (s *Store) createMessage(tx *gorm.DB, m models.Message) (*models.Message, error) {
	m.ID = models.NewID()
	if m.Meta == nil {
		m.Meta = models.Meta{}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := tx.Create(&m).Error; err != nil {
		return nil, translate(err, "message")
	}
	return &m, nil
}

// UpdateMessage saves a message's type, text and meta; it must belong to its
// conversation.
func (s *Store) UpdateMessage(ctx context.Context, m models.Message) (*models.Message, error) {
	if m.Meta == nil {
		m.Meta = models.Meta{}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if !models.ValidID(m.ID) || !models.ValidID(m.ConversationID) {
		return nil, notFound("message")
	}
	m.UpdatedAt = s.now()
	res := s.conn(ctx).Model(&models.Message{}).
		Where("id = ? AND conversation_id = ?", m.ID, m.ConversationID).
		Updates(map[string]any{"type": m.Type, "text": m.Text, "meta": m.Meta, "updated_at": m.UpdatedAt})
	if res.Error != nil {
		return nil, translate(res.Error, "message")
	}
	if res.RowsAffected == 0 {
		return nil, notFound("message")
	}
	return s.FindMessage(ctx, m.ConversationID, m.ID)
}

// DeleteMessage removes one message of a conversation.
func (s *Store) DeleteMessage(ctx context.Context, conversationID, id string) error {
	if !models.ValidID(id) || !models.ValidID(conversationID) {
		return notFound("message")
	}
	res := s.conn(ctx).Where("conversation_id = ?", conversationID).Delete(&models.Message{}, "id = ?", id)
	if res.Error != nil {
		return translate(res.Error, "message")
	}
	if res.RowsAffected == 0 {
		return notFound("message")
	}
	return nil
}

// SetMessageMeta sets one key of a message's meta (e.g. "rating"), keeping
// the rest; a nil value removes the key.
func (s *Store) SetMessageMeta(ctx context.Context, conversationID, id, key string, value any) (*models.Message, error) {
	var out *models.Message
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var m models.Message
		if err := tx.First(&m, "id = ? AND conversation_id = ?", id, conversationID).Error; err != nil {
			return translate(err, "message")
		}
		if m.Meta == nil {
			m.Meta = models.Meta{}
		}
		if value == nil {
			delete(m.Meta, key)
		} else {
			m.Meta[key] = value
		}
		if err := m.Validate(); err != nil {
			return err
		}
		if err := tx.Model(&models.Message{}).Where("id = ?", m.ID).Updates(map[string]any{"meta": m.Meta, "updated_at": s.now()}).Error; err != nil {
			return translate(err, "message")
		}
		out = &m
		return nil
	})
	return out, err
}

// FindMessage returns one message of a conversation.
func (s *Store) FindMessage(ctx context.Context, conversationID, id string) (*models.Message, error) {
	if !models.ValidID(id) || !models.ValidID(conversationID) {
		return nil, notFound("message")
	}
	var m models.Message
	if err := s.conn(ctx).First(&m, "id = ? AND conversation_id = ?", id, conversationID).Error; err != nil {
		return nil, translate(err, "message")
	}
	return &m, nil
}

// FindMessages lists a conversation's messages, one cursor page at a time
// (Order asc reads the timeline forwards; desc gives the latest page first).
func (s *Store) FindMessages(ctx context.Context, conversationID string, p models.Page) ([]models.Message, string, error) {
	q := s.conn(ctx).Model(&models.Message{}).Where("conversation_id = ?", conversationID)
	items, next, err := paginate(q, p, "id", func(m *models.Message) string { return m.ID })
	return items, next, translate(err, "messages")
}

// RecentDialogue returns a conversation's latest user, bot and instruction
// messages — what a prompt's history is made of — newest first, at most
// limit, with their id, type, text and turn only.
func (s *Store) RecentDialogue(ctx context.Context, conversationID string, limit int) ([]models.Message, error) {
	return s.recentDialogue(s.conn(ctx), conversationID, limit)
}

// recentDialogue is RecentDialogue on db (the store's, or a transaction).
func (s *Store) recentDialogue(db *gorm.DB, conversationID string, limit int) ([]models.Message, error) {
	// Every turn reads this: scanned by hand, not by reflection.
	rows, err := db.Raw(s.dialogueSQL(limit, "?"), conversationID).Rows()
	if err != nil {
		return nil, translate(err, "messages")
	}
	defer rows.Close()
	msgs, err := scanDialogue(rows, conversationID, limit)
	return msgs, translate(err, "messages")
}

// dialogueRows is what scanDialogue reads: database/sql's rows or pgx's.
type dialogueRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanDialogue scans the rows of dialogueSQL (at most limit) into messages
// of conversationID.
func scanDialogue(rows dialogueRows, conversationID string, limit int) ([]models.Message, error) {
	msgs := make([]models.Message, 0, min(limit, 32))
	for rows.Next() {
		m := models.Message{ConversationID: conversationID}
		var turnID sql.NullString
		if err := rows.Scan(&m.ID, &m.Type, &m.Text, &turnID); err != nil {
			return nil, err
		}
		if turnID.Valid {
			m.TurnID = &turnID.String
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// dialogueSQL reads a conversation's newest limit dialogue messages, the
// conversation being the parameter placeholder. On PostgreSQL it is
// migration 21's recent_dialogue (see there why). On SQLite the types
// (idx_messages_dialogue's predicate, migration 20) and the limit are
// written into the statement: with only the conversation a parameter, the
// index serves it and its prepared plan is reused.
func (s *Store) dialogueSQL(limit int, placeholder string) string {
	if s.dialect == Postgres {
		return `SELECT id, type, text, turn_id FROM recent_dialogue(` + placeholder + `, ` + strconv.Itoa(max(limit, 0)) + `)`
	}
	return `SELECT id, type, text, turn_id FROM messages
	WHERE conversation_id = ` + placeholder + ` AND ` + dialogueMessage + `
	ORDER BY id DESC LIMIT ` + strconv.Itoa(max(limit, 0))
}

// CountMessagesUpTo counts a conversation's messages, stopping at max (so a
// page that shows the count does bounded work however long the conversation is).
func (s *Store) CountMessagesUpTo(ctx context.Context, conversationID string, max int) (int64, error) {
	var n int64
	sub := s.conn(ctx).Model(&models.Message{}).Select("1").Where("conversation_id = ?", conversationID).Limit(max)
	err := s.conn(ctx).Table("(?) AS capped", sub).Count(&n).Error
	return n, translate(err, "messages")
}

// CountMessages counts a conversation's messages.
func (s *Store) CountMessages(ctx context.Context, conversationID string) (int64, error) {
	var n int64
	err := s.conn(ctx).Model(&models.Message{}).Where("conversation_id = ?", conversationID).Count(&n).Error
	return n, translate(err, "messages")
}
