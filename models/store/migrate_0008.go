package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// Migration 8 adds channels: integrations (a bot on Telegram or behind a
// generic webhook, with typed settings per platform and sealed secrets),
// contacts (the end users behind channel conversations, unique by
// fingerprint), channel threads (an integration's external conversation →
// its current Parley conversation, unique by integration and key), inbound
// events (every delivery from a platform, unique by integration and external
// event id, with its raw payload and what became of it) and outbound
// deliveries with their attempts (the delivery audit). Conversations record
// their integration and thread in typed columns, added with plain ALTER
// TABLE statements and their foreign keys inline (SQLite cannot add a
// constraint to an existing table). River's own tables (the job queue) are
// migrated by app/jobs with rivermigrate, not here. Frozen copies of the
// structs as of migration 8. Do not edit: add a migration.

type m8Integration struct {
	ID                        string      `gorm:"primaryKey;size:36"`
	Type                      string      `gorm:"size:20;not null;index:idx_integrations_type"`
	Name                      string      `gorm:"size:200;not null"`
	Description               string      `gorm:"type:text;not null"`
	BotID                     *string     `gorm:"size:36;index:idx_integrations_bot"`
	Meta                      models.Meta `gorm:"not null"`
	SessionDuration           int64       `gorm:"not null"`
	TelegramContactCollection bool        `gorm:"not null"`
	TelegramAllowFrom         string      `gorm:"type:text;not null"`
	TelegramStream            bool        `gorm:"not null"`
	TelegramIntro             string      `gorm:"type:text;not null"`
	TelegramUsername          string      `gorm:"size:100;not null"`
	TelegramUserID            int64       `gorm:"not null"`
	TelegramWebhookURL        string      `gorm:"size:2000;not null"`
	TelegramSetupAt           *time.Time
	WebhookCallbackURL        string  `gorm:"size:2000;not null"`
	BotTokenEnc               *string `gorm:"type:text"`
	SecretTokenEnc            *string `gorm:"type:text"`
	SigningSecretEnc          *string `gorm:"type:text"`
	PausedUntil               *time.Time
	CreatedAt                 time.Time `gorm:"not null"`
	UpdatedAt                 time.Time `gorm:"not null"`
	Bot                       *m1Bot    `gorm:"foreignKey:BotID;constraint:OnDelete:SET NULL"`
}

func (m8Integration) TableName() string { return "integrations" }

type m8Contact struct {
	ID          string      `gorm:"primaryKey;size:36"`
	Fingerprint string      `gorm:"size:200;not null;uniqueIndex:idx_contacts_fingerprint"`
	Name        string      `gorm:"size:200;not null"`
	Description string      `gorm:"type:text;not null"`
	Nick        string      `gorm:"size:100;not null"`
	Email       string      `gorm:"size:254;not null"`
	Phone       string      `gorm:"size:50;not null"`
	Meta        models.Meta `gorm:"not null"`
	FirstSeenAt time.Time   `gorm:"not null"`
	LastSeenAt  time.Time   `gorm:"not null"`
	CreatedAt   time.Time   `gorm:"not null"`
	UpdatedAt   time.Time   `gorm:"not null"`
}

func (m8Contact) TableName() string { return "contacts" }

type m8ChannelThread struct {
	ID             string          `gorm:"primaryKey;size:36;index:idx_channel_threads_integration_id,priority:2"`
	IntegrationID  string          `gorm:"size:36;not null;uniqueIndex:idx_channel_threads_key,priority:1;index:idx_channel_threads_integration_id,priority:1"`
	ExternalKey    string          `gorm:"size:200;not null;uniqueIndex:idx_channel_threads_key,priority:2"`
	ConversationID *string         `gorm:"size:36;index:idx_channel_threads_conversation"`
	ContactID      *string         `gorm:"size:36;index:idx_channel_threads_contact"`
	LastActivityAt time.Time       `gorm:"not null"`
	CreatedAt      time.Time       `gorm:"not null"`
	UpdatedAt      time.Time       `gorm:"not null"`
	Integration    m8Integration   `gorm:"foreignKey:IntegrationID;constraint:OnDelete:CASCADE"`
	Conversation   *m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:SET NULL"`
	Contact        *m8Contact      `gorm:"foreignKey:ContactID;constraint:OnDelete:SET NULL"`
}

func (m8ChannelThread) TableName() string { return "channel_threads" }

type m8InboundEvent struct {
	ID                string     `gorm:"primaryKey;size:36;index:idx_inbound_events_thread,priority:3;index:idx_inbound_events_integration,priority:2"`
	IntegrationID     string     `gorm:"size:36;not null;uniqueIndex:idx_inbound_events_external,priority:1;index:idx_inbound_events_thread,priority:1;index:idx_inbound_events_integration,priority:1"`
	ExternalID        string     `gorm:"size:200;not null;uniqueIndex:idx_inbound_events_external,priority:2"`
	ExternalKey       string     `gorm:"size:200;not null;index:idx_inbound_events_thread,priority:2"`
	Kind              string     `gorm:"size:20;not null"`
	Command           string     `gorm:"size:64;not null"`
	Text              string     `gorm:"type:text;not null"`
	ChatID            string     `gorm:"size:100;not null"`
	TopicID           string     `gorm:"size:100;not null"`
	ChatType          string     `gorm:"size:20;not null"`
	SenderFingerprint string     `gorm:"size:200;not null"`
	SenderUserID      int64      `gorm:"not null"`
	SenderName        string     `gorm:"size:200;not null"`
	SenderNick        string     `gorm:"size:100;not null"`
	SenderEmail       string     `gorm:"size:254;not null"`
	SenderPhone       string     `gorm:"size:50;not null"`
	Payload           string     `gorm:"type:text;not null"`
	PayloadBytes      int        `gorm:"not null"`
	PayloadTruncated  bool       `gorm:"not null"`
	Wait              bool       `gorm:"not null"`
	ReceivedAt        time.Time  `gorm:"not null"`
	Duplicates        int        `gorm:"not null"`
	LastDuplicateAt   *time.Time ``
	Status            string     `gorm:"size:20;not null;index:idx_inbound_events_status"`
	Reason            string     `gorm:"type:text;not null"`
	ConversationID    *string    `gorm:"size:36;index:idx_inbound_events_conversation"`
	UserMessageID     *string    `gorm:"size:36"`
	TurnID            *string    `gorm:"size:36"`
	BotMessageID      *string    `gorm:"size:36"`
	ProcessedAt       *time.Time
	CreatedAt         time.Time       `gorm:"not null"`
	UpdatedAt         time.Time       `gorm:"not null"`
	Integration       m8Integration   `gorm:"foreignKey:IntegrationID;constraint:OnDelete:CASCADE"`
	Conversation      *m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:SET NULL"`
}

func (m8InboundEvent) TableName() string { return "inbound_events" }

type m8OutboundDelivery struct {
	ID             string          `gorm:"primaryKey;size:36;index:idx_outbound_deliveries_thread,priority:3;index:idx_outbound_deliveries_integration,priority:2"`
	IntegrationID  string          `gorm:"size:36;not null;index:idx_outbound_deliveries_thread,priority:1;index:idx_outbound_deliveries_integration,priority:1"`
	EventID        string          `gorm:"size:36;not null;uniqueIndex:idx_outbound_deliveries_event"`
	ExternalKey    string          `gorm:"size:200;not null;index:idx_outbound_deliveries_thread,priority:2"`
	ConversationID *string         `gorm:"size:36;index:idx_outbound_deliveries_conversation"`
	MessageID      *string         `gorm:"size:36"`
	Kind           string          `gorm:"size:20;not null"`
	Mode           string          `gorm:"size:20;not null"`
	ChatID         string          `gorm:"size:100;not null"`
	TopicID        string          `gorm:"size:100;not null"`
	ChatType       string          `gorm:"size:20;not null"`
	Text           string          `gorm:"type:text;not null"`
	Parts          int             `gorm:"not null"`
	PartsSent      int             `gorm:"not null"`
	Status         string          `gorm:"size:20;not null;index:idx_outbound_deliveries_status"`
	Attempts       int             `gorm:"not null"`
	NextAttemptAt  *time.Time      ``
	LastError      string          `gorm:"type:text;not null"`
	DeliveredAt    *time.Time      ``
	CreatedAt      time.Time       `gorm:"not null"`
	UpdatedAt      time.Time       `gorm:"not null"`
	Integration    m8Integration   `gorm:"foreignKey:IntegrationID;constraint:OnDelete:CASCADE"`
	Event          m8InboundEvent  `gorm:"foreignKey:EventID;constraint:OnDelete:CASCADE"`
	Conversation   *m1Conversation `gorm:"foreignKey:ConversationID;constraint:OnDelete:SET NULL"`
}

func (m8OutboundDelivery) TableName() string { return "outbound_deliveries" }

type m8DeliveryAttempt struct {
	ID         string             `gorm:"primaryKey;size:36"`
	DeliveryID string             `gorm:"size:36;not null;uniqueIndex:idx_delivery_attempts_number,priority:1"`
	Number     int                `gorm:"not null;uniqueIndex:idx_delivery_attempts_number,priority:2"`
	Part       int                `gorm:"not null"`
	Request    string             `gorm:"type:text;not null"`
	StatusCode int                `gorm:"not null"`
	Response   string             `gorm:"type:text;not null"`
	Error      string             `gorm:"type:text;not null"`
	LatencyMs  int64              `gorm:"not null"`
	Outcome    string             `gorm:"size:20;not null"`
	RetryAt    *time.Time         ``
	StartedAt  time.Time          `gorm:"not null"`
	Delivery   m8OutboundDelivery `gorm:"foreignKey:DeliveryID;constraint:OnDelete:CASCADE"`
}

func (m8DeliveryAttempt) TableName() string { return "delivery_attempts" }

// migrate0008Columns adds the conversations' channel columns and their
// indexes, per dialect (the column types GORM gives a *string of size 36).
var migrate0008Columns = map[string][]string{
	Postgres: {
		`ALTER TABLE conversations ADD COLUMN integration_id varchar(36) REFERENCES integrations(id) ON DELETE SET NULL`,
		`ALTER TABLE conversations ADD COLUMN channel_thread_id varchar(36) REFERENCES channel_threads(id) ON DELETE SET NULL`,
	},
	SQLite: {
		`ALTER TABLE conversations ADD COLUMN integration_id text REFERENCES integrations(id) ON DELETE SET NULL`,
		`ALTER TABLE conversations ADD COLUMN channel_thread_id text REFERENCES channel_threads(id) ON DELETE SET NULL`,
	},
}

func migrate0008(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(&m8Integration{}, &m8Contact{}, &m8ChannelThread{},
		&m8InboundEvent{}, &m8OutboundDelivery{}, &m8DeliveryAttempt{}); err != nil {
		return err
	}
	name := tx.Dialector.Name()
	stmts, ok := migrate0008Columns[name]
	if !ok {
		return fmt.Errorf("conversation channel columns: unsupported database %q", name)
	}
	stmts = append(stmts,
		`CREATE INDEX idx_conversations_integration ON conversations (integration_id, id)`,
		`CREATE INDEX idx_conversations_thread ON conversations (channel_thread_id, id)`,
		`CREATE INDEX idx_conversations_contact_id ON conversations (contact_id, id)`,
	)
	for _, q := range stmts {
		if err := tx.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}
