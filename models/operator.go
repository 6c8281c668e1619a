package models

import (
	"strings"
	"time"
)

// Roles an operator can have.
const (
	RoleAdmin   = "admin"
	RoleBuilder = "builder"
	RoleQA      = "qa"
	RoleSupport = "support"
)

// Roles lists every role, most powerful first.
var Roles = []string{RoleAdmin, RoleBuilder, RoleQA, RoleSupport}

// Permission is one thing a role may do; every route requires exactly one.
type Permission string

// Permissions checked by the HTTP layer.
const (
	// PermConfigRead: see bots, datasets, skillsets and their settings.
	PermConfigRead Permission = "config:read"
	// PermBotHistory: read a bot's versions (what answered a message, and the
	// diff between versions); restoring one needs PermConfigWrite.
	PermBotHistory Permission = "bot:history"
	// PermConfigWrite: create, edit and delete bots, datasets, skillsets.
	PermConfigWrite Permission = "config:write"
	// PermConversationRead: read conversations and transcripts.
	PermConversationRead Permission = "conversation:read"
	// PermConversationRun: start and drive test conversations.
	PermConversationRun Permission = "conversation:run"
	// PermConversationRate: rate and annotate messages.
	PermConversationRate Permission = "conversation:rate"
	// PermConversationWrite: edit and delete conversations.
	PermConversationWrite Permission = "conversation:write"
	// PermQARead: see test suites, cases, runs, their results and replays.
	PermQARead Permission = "qa:read"
	// PermQARun: create and edit suites, cases and retrieval checks, run
	// suites and replay conversations.
	PermQARun Permission = "qa:run"
	// PermQAPropose: turn a transcript into a test case; without PermQARun
	// the case is only proposed, for QA to accept.
	PermQAPropose Permission = "qa:propose"
	// PermSessionManage: see and revoke live conversation session tokens.
	PermSessionManage Permission = "session:manage"
	// PermAdmin: operators, API secrets, providers.
	PermAdmin Permission = "admin"
)

var rolePermissions = map[string][]Permission{
	RoleAdmin: {PermConfigRead, PermBotHistory, PermConfigWrite, PermConversationRead, PermConversationRun,
		PermConversationRate, PermConversationWrite, PermSessionManage, PermAdmin, PermQARead, PermQARun, PermQAPropose},
	RoleBuilder: {PermConfigRead, PermBotHistory, PermConfigWrite, PermConversationRead, PermConversationRun,
		PermConversationRate, PermConversationWrite, PermSessionManage, PermQARead, PermQARun, PermQAPropose},
	RoleQA: {PermConfigRead, PermBotHistory, PermConversationRead, PermConversationRun, PermConversationRate,
		PermQARead, PermQARun, PermQAPropose},
	RoleSupport: {PermBotHistory, PermConversationRead, PermConversationRate, PermQAPropose},
}

// RoleCan reports whether role grants p.
func RoleCan(role string, p Permission) bool {
	for _, q := range rolePermissions[role] {
		if q == p {
			return true
		}
	}
	return false
}

// Operator is a person who signs in to the dashboard.
type Operator struct {
	ID           string `json:"id" gorm:"primaryKey;size:36"`
	Email        string `json:"email" gorm:"size:254;not null;uniqueIndex" validate:"required,max=254,email"`
	Name         string `json:"name" gorm:"size:200;not null" validate:"max=200"`
	PasswordHash string `json:"-" gorm:"size:100;not null"`
	Role         string `json:"role" gorm:"size:20;not null" validate:"required,oneof=admin builder qa support"`
	Disabled     bool   `json:"disabled" gorm:"not null"`
	// SeePersonalData, granted by an admin, shows a support operator personal
	// data (emails, phone, card and IBAN numbers) unmasked.
	SeePersonalData bool       `json:"seePersonalData" gorm:"not null"`
	LastLoginAt     *time.Time `json:"lastLoginAt,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	UpdatedAt       time.Time  `json:"updatedAt"`
}

// Validate checks the operator's fields.
func (o *Operator) Validate() error { return Validate(o) }

// Can reports whether the operator may do p; a disabled operator may do nothing.
func (o *Operator) Can(p Permission) bool {
	return o != nil && !o.Disabled && RoleCan(o.Role, p)
}

// DisplayName is the name, or the email when there is none.
func (o *Operator) DisplayName() string {
	if o.Name != "" {
		return o.Name
	}
	return o.Email
}

// NormalizeEmail lowercases and trims an email so lookups are case-insensitive.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Password length bounds (bcrypt reads at most 72 bytes).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 72
)

// CheckPassword returns an invalid-input error when a new password is too weak or too long.
func CheckPassword(field, pw string) error {
	switch {
	case len(pw) < MinPasswordLength:
		return FieldError(field, "Password must be at least 10 characters.")
	case len(pw) > MaxPasswordLength:
		return FieldError(field, "Password must be at most 72 bytes.")
	}
	return nil
}

// OperatorSession is a signed-in browser. Its ID is the SHA-256 of the cookie's
// token, so a database leak yields no usable session.
type OperatorSession struct {
	ID         string    `gorm:"primaryKey;size:64"`
	OperatorID string    `gorm:"size:36;not null;index"`
	CSRFToken  string    `gorm:"size:64;not null"`
	ExpiresAt  time.Time `gorm:"not null;index"`
	CreatedAt  time.Time
	LastSeenAt time.Time `gorm:"not null"`
	IP         string    `gorm:"size:64;not null"`
	UserAgent  string    `gorm:"size:300;not null"`
	Operator   Operator  `gorm:"foreignKey:OperatorID"`
}

// APISecret authorizes API calls as a Bearer token. Only its SHA-256 hash and
// a short prefix (to recognise it in lists) are stored.
type APISecret struct {
	ID          string     `json:"id" gorm:"primaryKey;size:36"`
	Name        string     `json:"name" gorm:"size:200;not null" validate:"required,max=200"`
	Hash        string     `json:"-" gorm:"size:64;not null;uniqueIndex"`
	Prefix      string     `json:"prefix" gorm:"size:16;not null"`
	CreatedByID *string    `json:"createdById,omitempty" gorm:"size:36"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	CreatedBy   *Operator  `json:"-" gorm:"foreignKey:CreatedByID"`
}

// Validate checks the secret's fields.
func (s *APISecret) Validate() error { return Validate(s) }

// LoginAttempt records a failed sign-in, so attempts can be limited across instances.
type LoginAttempt struct {
	ID        string    `gorm:"primaryKey;size:36"`
	Email     string    `gorm:"size:254;not null"`
	IP        string    `gorm:"size:64;not null"`
	CreatedAt time.Time `gorm:"not null"`
}
