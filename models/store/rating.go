package store

import (
	"context"
	"math"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"parley/models"
)

// Rate records a rater's vote on a bot message of a conversation (msgID ""
// rates the whole conversation); the rater's earlier vote on it is replaced,
// other raters' stay. value > 0 is up, < 0 down; 0 withdraws the vote. This is
// the one rule every caller (dashboard, API, end users) goes through. Errors:
// not_found (conversation or message), invalid (not a bot message, no rater).
func (s *Store) Rate(ctx context.Context, convID, msgID string, who models.Rater, value float64, reason string) (*models.Rating, error) {
	if who.Key == "" || who.Kind == "" {
		return nil, models.Errorf(models.CodeInvalid, "A rating needs a rater.")
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return nil, models.FieldError("value", "Value must be a number.")
	}
	now := s.now()
	r := models.Rating{ID: models.NewID(), ConversationID: convID, MessageID: msgID, Rater: who.Key, RaterKind: who.Kind,
		RaterName: models.TruncateUTF8(who.Name, 254), Value: value, Reason: strings.TrimSpace(reason), CreatedAt: now, UpdatedAt: now}
	if err := models.Validate(&r); err != nil {
		return nil, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := conversationExists(tx, convID); err != nil {
			return err
		}
		if msgID != "" {
			var m models.Message
			if !models.ValidID(msgID) {
				return notFound("message")
			}
			if err := tx.Select("id", "type").First(&m, "id = ? AND conversation_id = ?", msgID, convID).Error; err != nil {
				return translate(err, "message")
			}
			if m.Type != models.MessageBot {
				return models.Errorf(models.CodeInvalid, "Only the bot's answers can be rated.")
			}
		}
		if value == 0 {
			return translate(tx.Where("message_id = ? AND conversation_id = ? AND rater = ?", msgID, convID, who.Key).
				Delete(&models.Rating{}).Error, "rating")
		}
		return translate(tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "conversation_id"}, {Name: "message_id"}, {Name: "rater"}},
			DoUpdates: clause.AssignmentColumns([]string{"value", "reason", "rater_name", "updated_at"}),
		}).Create(&r).Error, "rating")
	})
	if err != nil {
		return nil, err
	}
	if value == 0 {
		return nil, nil
	}
	return &r, nil
}

// FindRatings returns the ratings of these messages of a conversation, by
// message id, oldest first.
func (s *Store) FindRatings(ctx context.Context, convID string, msgIDs []string) (map[string][]models.Rating, error) {
	out := map[string][]models.Rating{}
	if len(msgIDs) == 0 {
		return out, nil
	}
	var rs []models.Rating
	if err := s.conn(ctx).Where("conversation_id = ? AND message_id IN ?", convID, msgIDs).Order("created_at, id").Find(&rs).Error; err != nil {
		return nil, translate(err, "ratings")
	}
	for _, r := range rs {
		out[r.MessageID] = append(out[r.MessageID], r)
	}
	return out, nil
}

// FindConversationRatings returns the ratings of whole conversations (not of
// their messages), by conversation id.
func (s *Store) FindConversationRatings(ctx context.Context, convIDs []string) (map[string][]models.Rating, error) {
	out := map[string][]models.Rating{}
	if len(convIDs) == 0 {
		return out, nil
	}
	var rs []models.Rating
	if err := s.conn(ctx).Where("message_id = '' AND conversation_id IN ?", convIDs).Order("created_at, id").Find(&rs).Error; err != nil {
		return nil, translate(err, "ratings")
	}
	for _, r := range rs {
		out[r.ConversationID] = append(out[r.ConversationID], r)
	}
	return out, nil
}
