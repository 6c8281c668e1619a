package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// ConversationTokenPrefix starts every conversation session token, so it is
// told apart from an API secret (SecretPrefix) at a glance.
const ConversationTokenPrefix = "pcs_"

// CreateConversationSession issues a token that lasts ttl and is scoped to one
// existing conversation; it returns the raw token, which is never stored (only
// its SHA-256 hash is).
func (s *Store) CreateConversationSession(ctx context.Context, conversationID string, ttl time.Duration) (token string, sess *models.ConversationSession, err error) {
	if ttl <= 0 {
		return "", nil, models.Errorf(models.CodeInvalid, "A session's lifetime must be positive.")
	}
	if !models.ValidID(conversationID) {
		return "", nil, notFound("conversation")
	}
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&models.Conversation{}).Where("id = ?", conversationID).Count(&n).Error; err != nil {
		return "", nil, translate(err, "conversation")
	}
	if n == 0 {
		return "", nil, notFound("conversation")
	}
	token = models.NewToken(ConversationTokenPrefix)
	now := s.now()
	sess = &models.ConversationSession{
		ID: models.NewID(), ConversationID: conversationID, TokenHash: models.HashToken(token),
		ExpiresAt: now.Add(ttl), CreatedAt: now,
	}
	if err := db.Create(sess).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			// The conversation was deleted since the check.
			return "", nil, notFound("conversation")
		}
		return "", nil, translate(err, "conversation session")
	}
	return token, sess, nil
}

// AuthenticateConversationSession returns the live session for a raw token;
// unknown, malformed, revoked and expired tokens all get the same unauthorized error.
func (s *Store) AuthenticateConversationSession(ctx context.Context, token string) (*models.ConversationSession, error) {
	bad := models.Errorf(models.CodeUnauthorized, "Invalid or expired session token.")
	if !strings.HasPrefix(token, ConversationTokenPrefix) {
		return nil, bad
	}
	var sess models.ConversationSession
	err := s.db.WithContext(ctx).First(&sess, "token_hash = ? AND revoked_at IS NULL AND expires_at > ?",
		models.HashToken(token), s.now()).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, translate(err, "conversation session")
	}
	return &sess, nil
}

// FindConversationSessions lists a conversation's live (neither revoked nor
// expired) sessions, newest first by default, one cursor page at a time.
func (s *Store) FindConversationSessions(ctx context.Context, conversationID string, p models.Page) ([]models.ConversationSession, string, error) {
	q := s.db.WithContext(ctx).Model(&models.ConversationSession{}).
		Where("conversation_id = ? AND revoked_at IS NULL AND expires_at > ?", conversationID, s.now())
	items, next, err := paginate(q, p, "id", func(c *models.ConversationSession) string { return c.ID })
	return items, next, translate(err, "conversation sessions")
}

// RevokeConversationSession revokes a session, whose token stops working at
// once; revoking twice is harmless.
func (s *Store) RevokeConversationSession(ctx context.Context, id string) error {
	if !models.ValidID(id) {
		return notFound("conversation session")
	}
	db := s.db.WithContext(ctx)
	res := db.Model(&models.ConversationSession{}).Where("id = ? AND revoked_at IS NULL", id).
		UpdateColumn("revoked_at", s.now())
	if res.Error != nil {
		return translate(res.Error, "conversation session")
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := db.Model(&models.ConversationSession{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return translate(err, "conversation session")
	}
	if n == 0 {
		return notFound("conversation session")
	}
	return nil
}
