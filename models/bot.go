package models

import "time"

// Visibility values, as ChatBotKit names them.
const (
	VisibilityPrivate   = "private"
	VisibilityProtected = "protected"
	VisibilityPublic    = "public"
)

// Bot is a configured assistant: a backstory, a model and the datasets and
// skillsets it may use.
type Bot struct {
	ID          string  `json:"id" gorm:"primaryKey;size:36"`
	Alias       *string `json:"alias,omitempty" gorm:"size:100;uniqueIndex" validate:"omitempty,max=100"`
	Name        string  `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description string  `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Backstory   string  `json:"backstory" gorm:"type:text;not null" validate:"max=100000"`
	Model       string  `json:"model" gorm:"size:200;not null" validate:"max=200"`
	Privacy     bool    `json:"privacy" gorm:"not null"`
	Moderation  bool    `json:"moderation" gorm:"not null"`
	Visibility  string  `json:"visibility" gorm:"size:20;not null" validate:"omitempty,oneof=private protected public"`
	Meta        Meta    `json:"meta"`
	// VersionID is the bot's latest version (kept by the store with each new
	// version), so a turn finds its configuration without asking which is latest.
	VersionID *string    `json:"-" gorm:"size:36"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	Datasets  []Dataset  `json:"-" gorm:"many2many:bot_datasets"`
	Skillsets []Skillset `json:"-" gorm:"many2many:bot_skillsets"`
}

// Validate checks the bot's fields.
func (b *Bot) Validate() error { return Validate(b) }

// BotFilter narrows a bot listing.
type BotFilter struct {
	Page
	DatasetID  string // only bots using this dataset
	SkillsetID string // only bots using this skillset
}

// BotRef names a bot, for messages such as "used by bots A and B".
type BotRef struct {
	ID   string
	Name string
}
