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
// existing conversation; secretID is the API secret asking for it (nil: none),
// whose revocation ends the token. It returns the raw token, which is never
// stored (only its SHA-256 hash is).
func (s *Store) CreateConversationSession(ctx context.Context, conversationID string, secretID *string, ttl time.Duration) (token string, sess *models.ConversationSession, err error) {
	return s.createConversationSession(ctx, conversationID, secretID, nil, ttl)
}

// createConversationSession is CreateConversationSession for a token issued
// by an API secret (secretID) or for a widget (integrationID).
func (s *Store) createConversationSession(ctx context.Context, conversationID string, secretID, integrationID *string, ttl time.Duration) (token string, sess *models.ConversationSession, err error) {
	if ttl <= 0 {
		return "", nil, models.Errorf(models.CodeInvalid, "A session's lifetime must be positive.")
	}
	if !models.ValidID(conversationID) {
		return "", nil, notFound("conversation")
	}
	db := s.conn(ctx)
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
		SecretID: secretID, IntegrationID: integrationID, ExpiresAt: now.Add(ttl), CreatedAt: now,
	}
	if err := db.Omit("Conversation", "Secret").Create(sess).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			// The conversation was deleted since the check (secrets are
			// revoked, never deleted).
			return "", nil, notFound("conversation")
		}
		return "", nil, translate(err, "conversation session")
	}
	return token, sess, nil
}

// AuthenticateConversationSession returns the live session for a raw token and
// records its use (at most once a minute, to spare a write per request).
// Unknown, malformed, revoked and expired tokens, and tokens whose API secret
// is revoked, all get the same unauthorized error.
func (s *Store) AuthenticateConversationSession(ctx context.Context, token string) (*models.ConversationSession, error) {
	bad := models.Errorf(models.CodeUnauthorized, "Invalid or expired session token.")
	if !strings.HasPrefix(token, ConversationTokenPrefix) {
		return nil, bad
	}
	db := s.conn(ctx)
	now := s.now()
	var sess models.ConversationSession
	// The secret's own revocation is checked too, not only the token's: a
	// token created while its secret was being revoked is refused all the same.
	err := db.Model(&models.ConversationSession{}).Select("conversation_sessions.*").
		Joins("LEFT JOIN api_secrets ON api_secrets.id = conversation_sessions.secret_id").
		Where("conversation_sessions.token_hash = ? AND conversation_sessions.revoked_at IS NULL AND conversation_sessions.expires_at > ? AND api_secrets.revoked_at IS NULL",
			models.HashToken(token), now).
		Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, translate(err, "conversation session")
	}
	if sess.LastUsedAt == nil || now.Sub(*sess.LastUsedAt) > time.Minute {
		s.lazyConn(ctx).Model(&models.ConversationSession{}).Where("id = ?", sess.ID).UpdateColumn("last_used_at", now)
		sess.LastUsedAt = &now
	}
	return &sess, nil
}

// FindConversationSessions lists the live (neither revoked nor expired, nor
// of a revoked secret) sessions of one conversation, or of every conversation when conversationID
// is "", newest first by default, one cursor page at a time. Each comes with
// its conversation's id and name and its secret's id, name and prefix.
func (s *Store) FindConversationSessions(ctx context.Context, conversationID string, p models.Page) ([]models.ConversationSession, string, error) {
	q := withSessionRefs(s.conn(ctx).Model(&models.ConversationSession{})).
		Where("revoked_at IS NULL AND expires_at > ?", s.now()).
		// Nor is a token live whose secret is revoked (see AuthenticateConversationSession).
		Where("(secret_id IS NULL OR NOT EXISTS (SELECT 1 FROM api_secrets WHERE api_secrets.id = conversation_sessions.secret_id AND api_secrets.revoked_at IS NOT NULL))")
	if conversationID != "" {
		q = q.Where("conversation_id = ?", conversationID)
	}
	items, next, err := paginate(q, p, "id", func(c *models.ConversationSession) string { return c.ID })
	return items, next, translate(err, "conversation sessions")
}

// FindConversationSession returns one session, live or not, with its
// conversation's and secret's names.
func (s *Store) FindConversationSession(ctx context.Context, id string) (*models.ConversationSession, error) {
	if !models.ValidID(id) {
		return nil, notFound("session token")
	}
	var sess models.ConversationSession
	if err := withSessionRefs(s.conn(ctx)).Take(&sess, "id = ?", id).Error; err != nil {
		return nil, translate(err, "session token")
	}
	return &sess, nil
}

// withSessionRefs loads what a session listing shows of its conversation and secret.
func withSessionRefs(q *gorm.DB) *gorm.DB {
	return q.Preload("Conversation", func(db *gorm.DB) *gorm.DB { return db.Select("id", "name", "contact_id") }).
		Preload("Secret", func(db *gorm.DB) *gorm.DB { return db.Select("id", "name", "prefix", "revoked_at") })
}

// RevokeConversationSession revokes a session, whose token stops working at
// once; revoking twice is harmless.
func (s *Store) RevokeConversationSession(ctx context.Context, id string) error {
	if !models.ValidID(id) {
		return notFound("conversation session")
	}
	db := s.conn(ctx)
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

// RevokeConversationSessions revokes every live session of a conversation at
// once and returns how many it revoked; an unknown conversation is not found.
func (s *Store) RevokeConversationSessions(ctx context.Context, conversationID string) (int64, error) {
	if !models.ValidID(conversationID) {
		return 0, notFound("conversation")
	}
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var found int64
		if err := tx.Model(&models.Conversation{}).Where("id = ?", conversationID).Count(&found).Error; err != nil {
			return translate(err, "conversation")
		}
		if found == 0 {
			return notFound("conversation")
		}
		now := s.now()
		res := tx.Model(&models.ConversationSession{}).
			Where("conversation_id = ? AND revoked_at IS NULL AND expires_at > ?", conversationID, now).
			UpdateColumn("revoked_at", now)
		n = res.RowsAffected
		return translate(res.Error, "conversation sessions")
	})
	return n, err
}
