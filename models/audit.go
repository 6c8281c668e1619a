package models

import "time"

// AuditEvent is one operator action the audit log keeps: who did what to
// which object, when and from where.
type AuditEvent struct {
	ID         string    `json:"id" gorm:"primaryKey;size:36"`
	ActorID    *string   `json:"actorId,omitempty" gorm:"size:36"`
	ActorName  string    `json:"actorName" gorm:"size:254;not null"`
	Action     string    `json:"action" gorm:"size:40;not null"`
	ObjectType string    `json:"objectType" gorm:"size:40;not null"`
	ObjectID   string    `json:"objectId" gorm:"size:100;not null"`
	Route      string    `json:"route" gorm:"size:200;not null"`
	Detail     string    `json:"detail" gorm:"size:1000;not null"`
	IP         string    `json:"ip" gorm:"size:64;not null"`
	CreatedAt  time.Time `json:"createdAt"`
}

// AuditFilter narrows the audit log: by object type, action, actor and dates.
type AuditFilter struct {
	Page
	ObjectType string
	Action     string
	ActorID    string
	// Since and Until bound the time (zero: unbounded; Until is exclusive).
	Since, Until time.Time
}

// AuditObjectTypes are the kinds of objects whose changes are audited.
var AuditObjectTypes = []string{"bots", "datasets", "skillsets", "integrations", "operators", "secrets", "providers", "conversations", "tags"}
