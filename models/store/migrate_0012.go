package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Migration 12 adds support's tools: full-text search over what users and
// bots said (messages of type user and bot), a review status and an assignee
// per conversation, a managed list of tags per bot with the tags put on
// messages, notes on messages with their edit history, corrections
// suggested for answers (a builder may accept one into a dataset), and a log of every
// review change (who, what, when), an audit log of operators' changes
// and exports (who, what, when, from where), and the
// admin's grant that lets a support operator see personal data unmasked. Frozen copies of the structs as of
// migration 12. Do not edit: add a migration.

type m12Tag struct {
	ID        string    `gorm:"primaryKey;size:36"`
	BotID     string    `gorm:"size:36;not null;uniqueIndex:idx_tags_name,priority:1"`
	Name      string    `gorm:"size:50;not null;uniqueIndex:idx_tags_name,priority:2"`
	Color     string    `gorm:"size:20;not null"`
	CreatedAt time.Time `gorm:"not null"`
	Bot       m1Bot     `gorm:"foreignKey:BotID;constraint:OnDelete:CASCADE"`
}

func (m12Tag) TableName() string { return "tags" }

type m12MessageTag struct {
	MessageID      string         `gorm:"primaryKey;size:36"`
	TagID          string         `gorm:"primaryKey;size:36;index:idx_message_tags_tag,priority:1"`
	ConversationID string         `gorm:"size:36;not null;index:idx_message_tags_tag,priority:2;index:idx_message_tags_conversation"`
	CreatedBy      string         `gorm:"size:254;not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	Message        m1Message      `gorm:"foreignKey:MessageID;constraint:OnDelete:CASCADE"`
	Tag            m12Tag         `gorm:"foreignKey:TagID;constraint:OnDelete:CASCADE"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m12MessageTag) TableName() string { return "message_tags" }

type m12Note struct {
	ID             string         `gorm:"primaryKey;size:36;index:idx_notes_conversation,priority:2"`
	ConversationID string         `gorm:"size:36;not null;index:idx_notes_conversation,priority:1"`
	MessageID      string         `gorm:"size:36;not null;index:idx_notes_message"`
	AuthorID       *string        `gorm:"size:36"`
	AuthorName     string         `gorm:"size:254;not null"`
	Text           string         `gorm:"type:text;not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	UpdatedAt      time.Time      `gorm:"not null"`
	Message        m1Message      `gorm:"foreignKey:MessageID;constraint:OnDelete:CASCADE"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m12Note) TableName() string { return "notes" }

type m12NoteRevision struct {
	NoteID     string    `gorm:"primaryKey;size:36"`
	Seq        int       `gorm:"primaryKey;autoIncrement:false"`
	Text       string    `gorm:"type:text;not null"`
	EditorName string    `gorm:"size:254;not null"`
	CreatedAt  time.Time `gorm:"not null"`
	Note       m12Note   `gorm:"foreignKey:NoteID;constraint:OnDelete:CASCADE"`
}

func (m12NoteRevision) TableName() string { return "note_revisions" }

type m12ReviewEvent struct {
	ID             string         `gorm:"primaryKey;size:36;index:idx_review_events_conversation,priority:2"`
	ConversationID string         `gorm:"size:36;not null;index:idx_review_events_conversation,priority:1"`
	MessageID      *string        `gorm:"size:36"`
	ActorID        *string        `gorm:"size:36"`
	ActorName      string         `gorm:"size:254;not null"`
	Action         string         `gorm:"size:40;not null"`
	Detail         string         `gorm:"size:500;not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m12ReviewEvent) TableName() string { return "review_events" }

type m12Correction struct {
	ID             string         `gorm:"primaryKey;size:36"`
	ConversationID string         `gorm:"size:36;not null;index:idx_corrections_conversation"`
	MessageID      string         `gorm:"size:36;not null;index:idx_corrections_message"`
	Text           string         `gorm:"type:text;not null"`
	AuthorID       *string        `gorm:"size:36"`
	AuthorName     string         `gorm:"size:254;not null"`
	Status         string         `gorm:"size:20;not null;index:idx_corrections_status"`
	RecordID       *string        `gorm:"size:36"`
	DatasetID      *string        `gorm:"size:36"`
	DecidedBy      string         `gorm:"size:254;not null"`
	DecidedAt      *time.Time     ``
	CreatedAt      time.Time      `gorm:"not null"`
	Message        m1Message      `gorm:"foreignKey:MessageID;constraint:OnDelete:CASCADE"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m12Correction) TableName() string { return "corrections" }

type m12AuditEvent struct {
	ID         string    `gorm:"primaryKey;size:36;index:idx_audit_events_object,priority:2;index:idx_audit_events_actor,priority:2"`
	ActorID    *string   `gorm:"size:36;index:idx_audit_events_actor,priority:1"`
	ActorName  string    `gorm:"size:254;not null"`
	Action     string    `gorm:"size:40;not null"`
	ObjectType string    `gorm:"size:40;not null;index:idx_audit_events_object,priority:1"`
	ObjectID   string    `gorm:"size:100;not null"`
	Route      string    `gorm:"size:200;not null"`
	Detail     string    `gorm:"size:1000;not null"`
	IP         string    `gorm:"size:64;not null"`
	CreatedAt  time.Time `gorm:"not null;index:idx_audit_events_created"`
}

func (m12AuditEvent) TableName() string { return "audit_events" }

// migrate0012Postgres indexes user and bot messages for search: a stored
// generated tsvector (NULL for other types, so the GIN index holds only what
// people said), with the 'english' configuration of dataset search.
var migrate0012Postgres = []string{
	`ALTER TABLE messages ADD COLUMN search tsvector
		GENERATED ALWAYS AS (CASE WHEN type IN ('user', 'bot') THEN to_tsvector('english'::regconfig, coalesce(text, '')) END) STORED`,
	`CREATE INDEX idx_messages_search ON messages USING GIN (search)`,
}

// migrate0012SQLite indexes user and bot messages in an FTS5 external-content
// table kept by triggers (as migration 2 does for records). Only rows of those
// two types are in the index, so every trigger checks the type of the row it
// adds or removes: telling FTS5 to delete a row it never indexed would corrupt
// it. For the same reason never run 'rebuild' on messages_fts (it would index
// every type); repopulate it with the INSERT … SELECT below instead.
var migrate0012SQLite = []string{
	`CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='rowid', tokenize='porter unicode61')`,
	`CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.type IN ('user', 'bot') BEGIN
		INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
	END`,
	`CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.type IN ('user', 'bot') BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
	END`,
	`CREATE TRIGGER messages_fts_update_old AFTER UPDATE OF text, type ON messages WHEN old.type IN ('user', 'bot') BEGIN
		INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
	END`,
	`CREATE TRIGGER messages_fts_update_new AFTER UPDATE OF text, type ON messages WHEN new.type IN ('user', 'bot') BEGIN
		INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
	END`,
	`INSERT INTO messages_fts(rowid, text) SELECT rowid, text FROM messages WHERE type IN ('user', 'bot')`,
}

func migrate0012(tx *gorm.DB) error {
	var stmts []string
	switch name := tx.Dialector.Name(); name {
	case Postgres:
		stmts = migrate0012Postgres
	case SQLite:
		stmts = migrate0012SQLite
	default:
		return fmt.Errorf("message search: unsupported database %q", name)
	}
	stmts = append(stmts,
		"ALTER TABLE operators ADD COLUMN see_personal_data BOOLEAN NOT NULL DEFAULT false",
		"ALTER TABLE conversations ADD COLUMN review_status VARCHAR(20) NOT NULL DEFAULT 'new'",
		"ALTER TABLE conversations ADD COLUMN assignee_id VARCHAR(36)",
		"CREATE INDEX idx_conversations_review ON conversations (review_status, id)",
		"CREATE INDEX idx_conversations_assignee ON conversations (assignee_id, id)",
		"CREATE INDEX idx_ratings_conversation_kind ON ratings (conversation_id, rater_kind, value)",
		// Analytics counts a date range's messages.
		"CREATE INDEX idx_messages_created ON messages (created_at)",
	)
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return tx.Migrator().CreateTable(&m12Tag{}, &m12MessageTag{}, &m12Note{}, &m12NoteRevision{}, &m12ReviewEvent{}, &m12Correction{}, &m12AuditEvent{})
}
