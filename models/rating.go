package models

import "time"

// Rater kinds: who gave a rating.
const (
	RaterOperator = "operator" // a signed-in operator, in the dashboard
	RaterAPI      = "api"      // an app, with an API secret
	RaterEndUser  = "end_user" // an end user, with a conversation session token
)

// Rating is one rater's vote on a bot message (or, with MessageID empty, on
// a whole conversation): each rater has at most one per message, which a new
// vote replaces. Value is positive for up, negative for down; its magnitude is
// ChatBotKit's vote value (1 unless given).
type Rating struct {
	ID             string `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string `json:"conversationId" gorm:"size:36;not null"`
	MessageID      string `json:"messageId" gorm:"size:36;not null"`
	// Rater identifies who rated ("operator:<id>", "secret:<id>",
	// "session:<id>"); RaterKind and RaterName say it for people.
	Rater     string    `json:"rater" gorm:"size:100;not null"`
	RaterKind string    `json:"raterKind" gorm:"size:20;not null"`
	RaterName string    `json:"raterName" gorm:"size:254;not null"`
	Value     float64   `json:"value" gorm:"not null"`
	Reason    string    `json:"reason" gorm:"size:500;not null" validate:"max=500"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Up reports whether the rating is an upvote.
func (r Rating) Up() bool { return r.Value > 0 }

// Rater is who gives a rating.
type Rater struct {
	Key  string // unique per rater: "operator:<id>", "secret:<id>", "session:<id>"
	Kind string // RaterOperator, RaterAPI, RaterEndUser
	Name string // shown next to the rating
}
