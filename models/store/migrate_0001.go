package store

import (
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// Frozen copies of the structs as of migration 1. Do not edit: add a migration.

type m1Operator struct {
	ID           string `gorm:"primaryKey;size:36"`
	Email        string `gorm:"size:254;not null;uniqueIndex:idx_operators_email"`
	Name         string `gorm:"size:200;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	Role         string `gorm:"size:20;not null"`
	Disabled     bool   `gorm:"not null"`
	LastLoginAt  *time.Time
	CreatedAt    time.Time `gorm:"not null"`
	UpdatedAt    time.Time `gorm:"not null"`
}

func (m1Operator) TableName() string { return "operators" }

type m1OperatorSession struct {
	ID         string     `gorm:"primaryKey;size:64"`
	OperatorID string     `gorm:"size:36;not null;index:idx_operator_sessions_operator"`
	CSRFToken  string     `gorm:"size:64;not null"`
	ExpiresAt  time.Time  `gorm:"not null;index:idx_operator_sessions_expires"`
	CreatedAt  time.Time  `gorm:"not null"`
	LastSeenAt time.Time  `gorm:"not null"`
	IP         string     `gorm:"size:64;not null"`
	UserAgent  string     `gorm:"size:300;not null"`
	Operator   m1Operator `gorm:"foreignKey:OperatorID;constraint:OnDelete:CASCADE"`
}

func (m1OperatorSession) TableName() string { return "operator_sessions" }

type m1LoginAttempt struct {
	ID        string    `gorm:"primaryKey;size:36"`
	Email     string    `gorm:"size:254;not null;index:idx_login_attempts_email,priority:1"`
	IP        string    `gorm:"size:64;not null;index:idx_login_attempts_ip,priority:1"`
	CreatedAt time.Time `gorm:"not null;index:idx_login_attempts_email,priority:2;index:idx_login_attempts_ip,priority:2"`
}

func (m1LoginAttempt) TableName() string { return "login_attempts" }

type m1Setting struct {
	Key       string `gorm:"primaryKey;size:100"`
	Value     string `gorm:"type:text;not null"`
	UpdatedAt time.Time
}

func (m1Setting) TableName() string { return "settings" }

type m1APISecret struct {
	ID          string  `gorm:"primaryKey;size:36"`
	Name        string  `gorm:"size:200;not null"`
	Hash        string  `gorm:"size:64;not null;uniqueIndex:idx_api_secrets_hash"`
	Prefix      string  `gorm:"size:16;not null"`
	CreatedByID *string `gorm:"size:36;index:idx_api_secrets_created_by"`
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
	CreatedAt   time.Time   `gorm:"not null"`
	CreatedBy   *m1Operator `gorm:"foreignKey:CreatedByID;constraint:OnDelete:SET NULL"`
}

func (m1APISecret) TableName() string { return "api_secrets" }

type m1Bot struct {
	ID          string      `gorm:"primaryKey;size:36"`
	Alias       *string     `gorm:"size:100;uniqueIndex:idx_bots_alias"`
	Name        string      `gorm:"size:200;not null"`
	Description string      `gorm:"type:text;not null"`
	Backstory   string      `gorm:"type:text;not null"`
	Model       string      `gorm:"size:200;not null"`
	Privacy     bool        `gorm:"not null"`
	Moderation  bool        `gorm:"not null"`
	Visibility  string      `gorm:"size:20;not null"`
	Meta        models.Meta `gorm:"not null"`
	CreatedAt   time.Time   `gorm:"not null"`
	UpdatedAt   time.Time   `gorm:"not null"`
}

func (m1Bot) TableName() string { return "bots" }

type m1Dataset struct {
	ID                  string      `gorm:"primaryKey;size:36"`
	Alias               *string     `gorm:"size:100;uniqueIndex:idx_datasets_alias"`
	Name                string      `gorm:"size:200;not null"`
	Description         string      `gorm:"type:text;not null"`
	Meta                models.Meta `gorm:"not null"`
	Store               string      `gorm:"size:100;not null"`
	Reranker            string      `gorm:"size:100;not null"`
	RecordMaxTokens     int         `gorm:"not null"`
	SearchMinScore      float64     `gorm:"not null"`
	SearchMaxRecords    int         `gorm:"not null"`
	SearchMaxTokens     int         `gorm:"not null"`
	MatchInstruction    string      `gorm:"type:text;not null"`
	MismatchInstruction string      `gorm:"type:text;not null"`
	Separators          string      `gorm:"size:200;not null"`
	Visibility          string      `gorm:"size:20;not null"`
	CreatedAt           time.Time   `gorm:"not null"`
	UpdatedAt           time.Time   `gorm:"not null"`
}

func (m1Dataset) TableName() string { return "datasets" }

type m1DatasetRecord struct {
	ID        string      `gorm:"primaryKey;size:36;index:idx_dataset_records_dataset,priority:2"`
	DatasetID string      `gorm:"size:36;not null;index:idx_dataset_records_dataset,priority:1"`
	Text      string      `gorm:"type:text;not null"`
	Source    string      `gorm:"size:2000;not null"`
	Meta      models.Meta `gorm:"not null"`
	CreatedAt time.Time   `gorm:"not null"`
	UpdatedAt time.Time   `gorm:"not null"`
	Dataset   m1Dataset   `gorm:"foreignKey:DatasetID;constraint:OnDelete:CASCADE"`
}

func (m1DatasetRecord) TableName() string { return "dataset_records" }

type m1Skillset struct {
	ID          string      `gorm:"primaryKey;size:36"`
	Alias       *string     `gorm:"size:100;uniqueIndex:idx_skillsets_alias"`
	Name        string      `gorm:"size:200;not null"`
	Description string      `gorm:"type:text;not null"`
	Visibility  string      `gorm:"size:20;not null"`
	Meta        models.Meta `gorm:"not null"`
	CreatedAt   time.Time   `gorm:"not null"`
	UpdatedAt   time.Time   `gorm:"not null"`
}

func (m1Skillset) TableName() string { return "skillsets" }

type m1Ability struct {
	ID          string      `gorm:"primaryKey;size:36;index:idx_abilities_skillset,priority:2"`
	SkillsetID  string      `gorm:"size:36;not null;index:idx_abilities_skillset,priority:1"`
	Name        string      `gorm:"size:200;not null"`
	Description string      `gorm:"type:text;not null"`
	Instruction string      `gorm:"type:text;not null"`
	BotID       *string     `gorm:"size:36"`
	SecretID    *string     `gorm:"size:36"`
	FileID      *string     `gorm:"size:36"`
	Meta        models.Meta `gorm:"not null"`
	CreatedAt   time.Time   `gorm:"not null"`
	UpdatedAt   time.Time   `gorm:"not null"`
	Skillset    m1Skillset  `gorm:"foreignKey:SkillsetID;constraint:OnDelete:CASCADE"`
}

func (m1Ability) TableName() string { return "abilities" }

type m1BotDataset struct {
	BotID     string    `gorm:"primaryKey;size:36"`
	DatasetID string    `gorm:"primaryKey;size:36;index:idx_bot_datasets_dataset"`
	CreatedAt time.Time `gorm:"not null"`
	Bot       m1Bot     `gorm:"foreignKey:BotID;constraint:OnDelete:CASCADE"`
	Dataset   m1Dataset `gorm:"foreignKey:DatasetID;constraint:OnDelete:CASCADE"`
}

func (m1BotDataset) TableName() string { return "bot_datasets" }

type m1BotSkillset struct {
	BotID      string     `gorm:"primaryKey;size:36"`
	SkillsetID string     `gorm:"primaryKey;size:36;index:idx_bot_skillsets_skillset"`
	CreatedAt  time.Time  `gorm:"not null"`
	Bot        m1Bot      `gorm:"foreignKey:BotID;constraint:OnDelete:CASCADE"`
	Skillset   m1Skillset `gorm:"foreignKey:SkillsetID;constraint:OnDelete:CASCADE"`
}

func (m1BotSkillset) TableName() string { return "bot_skillsets" }

type m1Conversation struct {
	ID          string      `gorm:"primaryKey;size:36;index:idx_conversations_bot,priority:2"`
	BotID       *string     `gorm:"size:36;index:idx_conversations_bot,priority:1"`
	Name        string      `gorm:"size:200;not null"`
	Description string      `gorm:"type:text;not null"`
	Meta        models.Meta `gorm:"not null"`
	Model       string      `gorm:"size:200;not null"`
	Backstory   string      `gorm:"type:text;not null"`
	DatasetID   *string     `gorm:"size:36;index:idx_conversations_dataset"`
	SkillsetID  *string     `gorm:"size:36;index:idx_conversations_skillset"`
	Privacy     bool        `gorm:"not null"`
	Moderation  bool        `gorm:"not null"`
	ContactID   *string     `gorm:"size:100;index:idx_conversations_contact"`
	TaskID      *string     `gorm:"size:100"`
	SpaceID     *string     `gorm:"size:100"`
	CreatedAt   time.Time   `gorm:"not null"`
	UpdatedAt   time.Time   `gorm:"not null"`
	Bot         *m1Bot      `gorm:"foreignKey:BotID;constraint:OnDelete:SET NULL"`
	Dataset     *m1Dataset  `gorm:"foreignKey:DatasetID;constraint:OnDelete:SET NULL"`
	Skillset    *m1Skillset `gorm:"foreignKey:SkillsetID;constraint:OnDelete:SET NULL"`
}

func (m1Conversation) TableName() string { return "conversations" }

type m1Message struct {
	ID             string         `gorm:"primaryKey;size:36;index:idx_messages_conversation,priority:2"`
	ConversationID string         `gorm:"size:36;not null;index:idx_messages_conversation,priority:1"`
	Type           string         `gorm:"size:20;not null"`
	Text           string         `gorm:"type:text;not null"`
	Meta           models.Meta    `gorm:"not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	UpdatedAt      time.Time      `gorm:"not null"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m1Message) TableName() string { return "messages" }

type m1ConversationSession struct {
	ID             string    `gorm:"primaryKey;size:36"`
	ConversationID string    `gorm:"size:36;not null;index:idx_conversation_sessions_conversation"`
	TokenHash      string    `gorm:"size:64;not null;uniqueIndex:idx_conversation_sessions_token"`
	ExpiresAt      time.Time `gorm:"not null"`
	RevokedAt      *time.Time
	CreatedAt      time.Time      `gorm:"not null"`
	Conversation   m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:CASCADE"`
}

func (m1ConversationSession) TableName() string { return "conversation_sessions" }

func migrate0001(tx *gorm.DB) error {
	// Parents before children, so foreign keys can be declared inline (SQLite needs that).
	return tx.Migrator().CreateTable(
		&m1Operator{}, &m1OperatorSession{}, &m1LoginAttempt{}, &m1Setting{}, &m1APISecret{},
		&m1Bot{}, &m1Dataset{}, &m1DatasetRecord{}, &m1Skillset{}, &m1Ability{},
		&m1BotDataset{}, &m1BotSkillset{},
		&m1Conversation{}, &m1Message{}, &m1ConversationSession{},
	)
}
