package store

import (
	"context"

	"parley/models"
)

// ConversationExtras is what an export adds to a conversation's messages:
// every rating, tag, note (with revisions) and turn, each bounded by the
// conversation (read in one query per kind).
type ConversationExtras struct {
	Ratings     []models.Rating
	Tags        []models.MessageTag
	Notes       []models.Note
	Corrections []models.Correction
	Turns       []models.Turn
}

// maxExtras bounds each kind of a conversation's extras in an export.
const maxExtras = 10_000

// FindConversationExtras returns a conversation's ratings, tags, notes,
// corrections and turns (figures only, without prompts), oldest first.
func (s *Store) FindConversationExtras(ctx context.Context, convID string) (*ConversationExtras, error) {
	db := s.db.WithContext(ctx)
	var x ConversationExtras
	if err := db.Where("conversation_id = ?", convID).Order("created_at, id").Limit(maxExtras).Find(&x.Ratings).Error; err != nil {
		return nil, translate(err, "ratings")
	}
	if err := db.Preload("Tag").Where("conversation_id = ?", convID).Order("created_at, tag_id").Limit(maxExtras).Find(&x.Tags).Error; err != nil {
		return nil, translate(err, "tags")
	}
	if err := db.Preload("Revisions").Where("conversation_id = ?", convID).Order("id").Limit(maxExtras).Find(&x.Notes).Error; err != nil {
		return nil, translate(err, "notes")
	}
	if err := db.Where("conversation_id = ?", convID).Order("id").Limit(maxExtras).Find(&x.Corrections).Error; err != nil {
		return nil, translate(err, "corrections")
	}
	if err := db.Omit("prompt").Where("conversation_id = ?", convID).Order("id").Limit(maxExtras).Find(&x.Turns).Error; err != nil {
		return nil, translate(err, "turns")
	}
	return &x, nil
}
