package models

import "time"

// Skillset is a named collection of abilities a bot may use.
type Skillset struct {
	ID          string    `json:"id" gorm:"primaryKey;size:36"`
	Alias       *string   `json:"alias,omitempty" gorm:"size:100;uniqueIndex" validate:"omitempty,max=100"`
	Name        string    `json:"name" gorm:"size:200;not null" validate:"max=200"`
	Description string    `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Visibility  string    `json:"visibility" gorm:"size:20;not null" validate:"omitempty,oneof=private protected public"`
	Meta        Meta      `json:"meta"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Validate checks the skillset's fields.
func (s *Skillset) Validate() error { return Validate(s) }

// Ability is something a bot can do: when to use it (description), how
// (instruction), and optionally an action that runs.
type Ability struct {
	ID          string    `json:"id" gorm:"primaryKey;size:36"`
	SkillsetID  string    `json:"skillsetId" gorm:"size:36;not null"`
	Name        string    `json:"name" gorm:"size:200;not null" validate:"required,max=200"`
	Description string    `json:"description" gorm:"type:text;not null" validate:"max=4000"`
	Instruction string    `json:"instruction" gorm:"type:text;not null" validate:"max=20000"`
	BotID       *string   `json:"botId,omitempty" gorm:"size:36" validate:"omitempty,max=36"`
	SecretID    *string   `json:"secretId,omitempty" gorm:"size:36" validate:"omitempty,max=36"`
	FileID      *string   `json:"fileId,omitempty" gorm:"size:36" validate:"omitempty,max=36"`
	Meta        Meta      `json:"meta"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Validate checks the ability's fields.
func (a *Ability) Validate() error { return Validate(a) }
