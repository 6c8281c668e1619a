package store

import (
	"context"
	"strings"
	"time"

	"parley/models"
)

// SessionTTL is how long a dashboard sign-in lasts.
const SessionTTL = 7 * 24 * time.Hour

// CreateSession signs an operator in: it stores the session (by the token's
// hash) and returns the raw token for the cookie and the session's CSRF token.
func (s *Store) CreateSession(ctx context.Context, operatorID, ip, userAgent string) (token string, sess *models.OperatorSession, err error) {
	token = models.NewToken("")
	now := s.now()
	userAgent = models.TruncateUTF8(strings.ToValidUTF8(userAgent, ""), 300)
	ip = models.TruncateUTF8(strings.ToValidUTF8(ip, ""), 64)
	sess = &models.OperatorSession{
		ID: models.HashToken(token), OperatorID: operatorID, CSRFToken: models.NewToken("")[:43],
		ExpiresAt: now.Add(SessionTTL), CreatedAt: now, LastSeenAt: now, IP: ip, UserAgent: userAgent,
	}
	if err := s.conn(ctx).Omit("Operator").Create(sess).Error; err != nil {
		return "", nil, translate(err, "session")
	}
	// Opportunistic clean-up of expired sessions.
	s.conn(ctx).Where("expires_at < ?", now).Delete(&models.OperatorSession{})
	return token, sess, nil
}

// FindSession returns the live session for a cookie token, with its operator;
// expired sessions and disabled operators are unauthorized.
func (s *Store) FindSession(ctx context.Context, token string) (*models.OperatorSession, error) {
	if token == "" {
		return nil, models.Errorf(models.CodeUnauthorized, "Please sign in.")
	}
	var sess models.OperatorSession
	err := s.conn(ctx).Preload("Operator").
		First(&sess, "id = ? AND expires_at > ?", models.HashToken(token), s.now()).Error
	if err != nil {
		if models.ErrorCode(translate(err, "session")) == models.CodeNotFound {
			return nil, models.Errorf(models.CodeUnauthorized, "Your session has ended: please sign in again.")
		}
		return nil, translate(err, "session")
	}
	if sess.Operator.Disabled {
		return nil, models.Errorf(models.CodeUnauthorized, "This account is disabled.")
	}
	// Record activity at most once a minute, to keep reads cheap.
	if now := s.now(); now.Sub(sess.LastSeenAt) > time.Minute {
		s.conn(ctx).Model(&models.OperatorSession{}).Where("id = ?", sess.ID).UpdateColumn("last_seen_at", now)
	}
	return &sess, nil
}

// DeleteSession signs a browser out.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	return translate(s.conn(ctx).Delete(&models.OperatorSession{}, "id = ?", models.HashToken(token)).Error, "session")
}
