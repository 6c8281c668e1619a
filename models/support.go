package models

import (
	"strings"
	"time"
	"unicode"
)

// Review statuses of a conversation, in the order a review moves through them.
const (
	ReviewNew      = "new"
	ReviewInReview = "in_review"
	ReviewNeedsFix = "needs_fix"
	ReviewResolved = "resolved"
)

// ReviewStatuses lists every review status in display order.
var ReviewStatuses = []string{ReviewNew, ReviewInReview, ReviewNeedsFix, ReviewResolved}

// ReviewStatusLabel is how a review status reads in the dashboard.
func ReviewStatusLabel(s string) string {
	switch s {
	case ReviewNew:
		return "New"
	case ReviewInReview:
		return "In review"
	case ReviewNeedsFix:
		return "Needs fix"
	case ReviewResolved:
		return "Resolved"
	}
	return s
}

// ValidReviewStatus reports whether s is one of ReviewStatuses.
func ValidReviewStatus(s string) bool {
	for _, v := range ReviewStatuses {
		if v == s {
			return true
		}
	}
	return false
}

// Rating filters of the conversation list.
const (
	RatingUp   = "up"
	RatingDown = "down"
)

// ConversationQuery is what support filters the conversation list by; every
// field is optional and they combine (AND).
type ConversationQuery struct {
	ConversationFilter
	// Rating keeps conversations with an up (RatingUp) or down (RatingDown)
	// vote on one of their messages; RaterKind, when set, only counts votes
	// of that kind of rater (RaterOperator, RaterEndUser, RaterAPI).
	Rating    string
	RaterKind string
	// TagID keeps conversations with a message carrying that tag.
	TagID string
	// ReviewStatus keeps conversations in that review status.
	ReviewStatus string
	// AssigneeID keeps conversations assigned to that operator.
	AssigneeID string
	// HasError keeps conversations with a failed or interrupted turn.
	HasError bool
	// Unanswered keeps conversations with a turn that retrieved no records or
	// whose answer said it did not know.
	Unanswered bool
}

// ConversationRow is a conversation as the list shows it: the conversation
// and the figures that help triage it.
type ConversationRow struct {
	Conversation
	ReviewStatus     string
	AssigneeID       *string
	AssigneeName     string
	IntegrationName  string
	IntegrationType  string
	FirstUserMessage string
	MessageCount     int64
	LastActivity     time.Time
	// Up and Down count votes by operators (and apps); EndUserUp and
	// EndUserDown those of end users.
	Up, Down               int64
	EndUserUp, EndUserDown int64
	HasError               bool
}

// MessageSearch asks which user and bot messages contain every word of Text,
// in the conversations the filter keeps; newest first, one cursor page (a
// message id) at a time.
type MessageSearch struct {
	ConversationQuery
	Text string
}

// MessageHit is a message found by a search, with its conversation's title
// parts, for the results list.
type MessageHit struct {
	Message
	ConversationName string
	BotID            *string
	BotName          string
}

// MaxMessageSearchTerms bounds the words of a message search.
const MaxMessageSearchTerms = 16

// MessageSearchTerms splits a search into its words: letters and digits,
// lower-cased, at most MaxMessageSearchTerms, duplicates dropped.
func MessageSearchTerms(q string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if seen[w] || len(w) > 64 {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == MaxMessageSearchTerms {
			break
		}
	}
	return out
}

// Tag is a label of a bot's managed list, put on messages during review.
type Tag struct {
	ID        string    `json:"id" gorm:"primaryKey;size:36"`
	BotID     string    `json:"botId" gorm:"size:36;not null"`
	Name      string    `json:"name" gorm:"size:50;not null" validate:"required,max=50"`
	Color     string    `json:"color" gorm:"size:20;not null" validate:"required,oneof=gray red orange yellow green blue purple"`
	CreatedAt time.Time `json:"createdAt"`
}

// TagColors are the colours a tag may have (each also shown by name).
var TagColors = []string{"gray", "red", "orange", "yellow", "green", "blue", "purple"}

// Validate checks the tag's fields.
func (t *Tag) Validate() error { return Validate(t) }

// MessageTag is a tag put on a message, by whom and when.
type MessageTag struct {
	MessageID      string    `json:"messageId" gorm:"primaryKey;size:36"`
	TagID          string    `json:"tagId" gorm:"primaryKey;size:36"`
	ConversationID string    `json:"conversationId" gorm:"size:36;not null"`
	CreatedBy      string    `json:"createdBy" gorm:"size:254;not null"`
	CreatedAt      time.Time `json:"createdAt"`
	Tag            *Tag      `json:"tag,omitempty" gorm:"foreignKey:TagID"`
}

// Note is a reviewer's note on a message; every edit keeps the text it
// replaced in its revisions.
type Note struct {
	ID             string         `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string         `json:"conversationId" gorm:"size:36;not null"`
	MessageID      string         `json:"messageId" gorm:"size:36;not null"`
	AuthorID       *string        `json:"authorId,omitempty" gorm:"size:36"`
	AuthorName     string         `json:"authorName" gorm:"size:254;not null"`
	Text           string         `json:"text" gorm:"type:text;not null" validate:"required,max=4000"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
	Revisions      []NoteRevision `json:"revisions,omitempty" gorm:"foreignKey:NoteID"`
}

// Validate checks the note's fields.
func (n *Note) Validate() error { return Validate(n) }

// NoteRevision is an earlier text of a note, kept when it was edited.
type NoteRevision struct {
	NoteID     string    `json:"-" gorm:"primaryKey;size:36"`
	Seq        int       `json:"seq" gorm:"primaryKey;autoIncrement:false"`
	Text       string    `json:"text" gorm:"type:text;not null"`
	EditorName string    `json:"editorName" gorm:"size:254;not null"`
	CreatedAt  time.Time `json:"createdAt"`
}

// ReviewEvent records one review change of a conversation (status,
// assignee, tag, note), who made it and when.
type ReviewEvent struct {
	ID             string    `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string    `json:"conversationId" gorm:"size:36;not null"`
	MessageID      *string   `json:"messageId,omitempty" gorm:"size:36"`
	ActorID        *string   `json:"actorId,omitempty" gorm:"size:36"`
	ActorName      string    `json:"actorName" gorm:"size:254;not null"`
	Action         string    `json:"action" gorm:"size:40;not null"`
	Detail         string    `json:"detail" gorm:"size:500;not null"`
	CreatedAt      time.Time `json:"createdAt"`
}

// Reviewer is who makes a review change.
type Reviewer struct {
	ID   string
	Name string
}

// Correction statuses: a support operator suggests, a builder accepts it
// into a dataset.
const (
	CorrectionPending  = "pending"
	CorrectionAccepted = "accepted"
)

// Correction is a better answer suggested for a bot message during review,
// kept with the review; a builder accepting it makes it a dataset record.
type Correction struct {
	ID             string     `json:"id" gorm:"primaryKey;size:36"`
	ConversationID string     `json:"conversationId" gorm:"size:36;not null"`
	MessageID      string     `json:"messageId" gorm:"size:36;not null"`
	Text           string     `json:"text" gorm:"type:text;not null" validate:"required,max=20000"`
	AuthorID       *string    `json:"authorId,omitempty" gorm:"size:36"`
	AuthorName     string     `json:"authorName" gorm:"size:254;not null"`
	Status         string     `json:"status" gorm:"size:20;not null"`
	RecordID       *string    `json:"recordId,omitempty" gorm:"size:36"`
	DatasetID      *string    `json:"datasetId,omitempty" gorm:"size:36"`
	DecidedBy      string     `json:"decidedBy,omitempty" gorm:"size:254;not null"`
	DecidedAt      *time.Time `json:"decidedAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// Validate checks the correction's fields.
func (c *Correction) Validate() error { return Validate(c) }
