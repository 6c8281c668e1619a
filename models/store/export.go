package store

import (
	"context"

	"parley/models"
)

// ConversationExtras is what an export adds to a conversation's messages:
// its review, and every rating, tag, note (with revisions), correction and
// turn (figures, without the prompt).
type ConversationExtras struct {
	ReviewStatus string
	AssigneeID   *string
	Ratings      []models.Rating
	Tags         []models.MessageTag
	Notes        []models.Note
	Corrections  []models.Correction
	Turns        []models.Turn
}

// FindConversationExtras returns the extras of a batch of conversations (an
// export's page), by conversation id, oldest first within each: one query
// per kind for the whole batch.
func (s *Store) FindConversationExtras(ctx context.Context, convIDs []string) (map[string]*ConversationExtras, error) {
	out := make(map[string]*ConversationExtras, len(convIDs))
	if len(convIDs) == 0 {
		return out, nil
	}
	for _, id := range convIDs {
		out[id] = &ConversationExtras{ReviewStatus: models.ReviewNew}
	}
	db := s.conn(ctx)
	var reviews []review
	if err := db.Table("conversations").Select("id", "review_status", "assignee_id").Where("id IN ?", convIDs).Scan(&reviews).Error; err != nil {
		return nil, translate(err, "conversations")
	}
	for _, r := range reviews {
		out[r.ID].ReviewStatus, out[r.ID].AssigneeID = r.ReviewStatus, r.AssigneeID
	}
	var ratings []models.Rating
	if err := db.Where("conversation_id IN ?", convIDs).Order("created_at, id").Find(&ratings).Error; err != nil {
		return nil, translate(err, "ratings")
	}
	for _, r := range ratings {
		out[r.ConversationID].Ratings = append(out[r.ConversationID].Ratings, r)
	}
	var tags []models.MessageTag
	if err := db.Preload("Tag").Where("conversation_id IN ?", convIDs).Order("created_at, tag_id").Find(&tags).Error; err != nil {
		return nil, translate(err, "tags")
	}
	for _, t := range tags {
		out[t.ConversationID].Tags = append(out[t.ConversationID].Tags, t)
	}
	var notes []models.Note
	if err := db.Preload("Revisions").Where("conversation_id IN ?", convIDs).Order("id").Find(&notes).Error; err != nil {
		return nil, translate(err, "notes")
	}
	for _, n := range notes {
		out[n.ConversationID].Notes = append(out[n.ConversationID].Notes, n)
	}
	var corrs []models.Correction
	if err := db.Where("conversation_id IN ?", convIDs).Order("id").Find(&corrs).Error; err != nil {
		return nil, translate(err, "corrections")
	}
	for _, c := range corrs {
		out[c.ConversationID].Corrections = append(out[c.ConversationID].Corrections, c)
	}
	var turns []models.Turn
	if err := db.Omit("prompt").Where("conversation_id IN ?", convIDs).Order("id").Find(&turns).Error; err != nil {
		return nil, translate(err, "turns")
	}
	for _, t := range turns {
		out[t.ConversationID].Turns = append(out[t.ConversationID].Turns, t)
	}
	return out, nil
}
