package models

import "time"

// Conversation is an exchange with a bot, or with an inline configuration
// (backstory, model, dataset, skillset) when it has no bot.
type Conversation struct {
	ID          string  `json:"id" gorm:"primaryKey;size:36"`
	BotID       *string `json:"botId,omitempty" gorm:"size:36"`
	Name        string  `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description string  `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Meta        Meta    `json:"meta"`
	Model       string  `json:"model" gorm:"size:200;not null" validate:"max=200"`
	Backstory   string  `json:"backstory" gorm:"type:text;not null" validate:"max=100000"`
	DatasetID   *string `json:"datasetId,omitempty" gorm:"size:36"`
	SkillsetID  *string `json:"skillsetId,omitempty" gorm:"size:36"`
	Privacy     bool    `json:"privacy" gorm:"not null"`
	Moderation  bool    `json:"moderation" gorm:"not null"`
	ContactID   *string `json:"contactId,omitempty" gorm:"size:100" validate:"omitempty,max=100"`
	TaskID      *string `json:"taskId,omitempty" gorm:"size:100" validate:"omitempty,max=100"`
	SpaceID     *string `json:"spaceId,omitempty" gorm:"size:100" validate:"omitempty,max=100"`
	// Kind is chat for real conversations; test and replay mark QA's
	// scratch conversations, left out of lists and analytics by default.
	Kind string `json:"kind" gorm:"size:20;not null;default:chat" validate:"omitempty,oneof=chat test replay"`
	// Pinned, when set, answers with that configuration (a bot version's
	// snapshot, or a draft) instead of the bot's latest version.
	Pinned    *PinnedConfig `json:"-" gorm:"type:text;serializer:json"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Bot       *Bot          `json:"-" gorm:"foreignKey:BotID"`

	// IntegrationID is the channel the conversation came through, and
	// ChannelThreadID the external conversation (a Telegram chat, say) it
	// belongs to; nil for conversations started in Parley or the API.
	IntegrationID   *string `json:"integrationId,omitempty" gorm:"size:36"`
	ChannelThreadID *string `json:"channelThreadId,omitempty" gorm:"size:36"`
}

// Validate checks the conversation's fields.
func (c *Conversation) Validate() error { return Validate(c) }

// ConversationFilter narrows a conversation listing.
type ConversationFilter struct {
	Page
	BotID string
	// IntegrationID, ThreadID and ContactID keep only the conversations of
	// one channel, of one external conversation (its history), or of one contact.
	IntegrationID string
	ThreadID      string
	ContactID     string
	// Since and Until bound the creation time (zero: unbounded; Until is exclusive).
	Since, Until time.Time
	// IncludeTests lists QA's test data too (runs' and replays' scratch
	// conversations); by default only real conversations are listed.
	IncludeTests bool
}

// Message types, as ChatBotKit names them.
const (
	MessageUser        = "user"
	MessageBot         = "bot"
	MessageReasoning   = "reasoning"
	MessageContext     = "context"
	MessageInstruction = "instruction"
	MessageBackstory   = "backstory"
	MessageActivity    = "activity"
	MessageCheckpoint  = "checkpoint"
)

// MessageTypes lists every message type in display order.
var MessageTypes = []string{MessageUser, MessageBot, MessageReasoning, MessageContext,
	MessageInstruction, MessageBackstory, MessageActivity, MessageCheckpoint}

// Message is one entry of a conversation's timeline.
type Message struct {
	ID             string `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string `json:"conversationId" gorm:"size:36;not null"`
	Type           string `json:"type" gorm:"size:20;not null" validate:"required,oneof=user bot reasoning context instruction backstory activity checkpoint"`
	Text           string `json:"text" gorm:"type:text;not null" validate:"max=200000"`
	Meta           Meta   `json:"meta"`
	// TurnID is the turn that produced the message (context, activity, bot);
	// nil for user messages (turns point at what they answer) and messages
	// written directly.
	TurnID *string `json:"turnId,omitempty" gorm:"size:36"`
	// ExternalID is the sender's id of a user message (an idempotency key:
	// unique per conversation), so a retried delivery is stored once.
	ExternalID *string   `json:"externalId,omitempty" gorm:"size:200" validate:"omitempty,max=200"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// Validate checks the message's fields.
func (m *Message) Validate() error { return Validate(m) }

// ConversationSession is a short-lived token scoped to one conversation, so an
// end user's client can talk to the bot without the operator's secret. Only
// the token's hash is stored. SecretID is the API secret that created it (nil
// when none did): revoking that secret ends the token.
type ConversationSession struct {
	ID             string  `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string  `json:"conversationId" gorm:"size:36;not null"`
	TokenHash      string  `json:"-" gorm:"size:64;not null;uniqueIndex"`
	SecretID       *string `json:"secretId,omitempty" gorm:"size:36"`
	// IntegrationID is the widget the token was issued for (nil: an API
	// secret's or the dashboard's token): its allowed origins are the only
	// ones the API answers with CORS for this token.
	IntegrationID *string    `json:"integrationId,omitempty" gorm:"size:36"`
	ExpiresAt     time.Time  `json:"expiresAt" gorm:"not null"`
	LastUsedAt    *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	// Conversation and Secret are loaded for listings (id and name only).
	Conversation *Conversation `json:"-" gorm:"foreignKey:ConversationID"`
	Secret       *APISecret    `json:"-" gorm:"foreignKey:SecretID"`
}
