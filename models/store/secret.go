package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// SecretPrefix starts every API secret, so leaked secrets are recognisable.
const SecretPrefix = "prl_"

// CreateSecret makes a new API secret and returns it with the raw value, which
// is shown once and never stored (only its SHA-256 hash is).
func (s *Store) CreateSecret(ctx context.Context, name string, createdByID *string) (*models.APISecret, string, error) {
	raw := models.NewToken(SecretPrefix)
	sec := models.APISecret{
		ID: models.NewID(), Name: strings.TrimSpace(name), Hash: models.HashToken(raw),
		Prefix: raw[:len(SecretPrefix)+6], CreatedByID: createdByID,
	}
	if err := sec.Validate(); err != nil {
		return nil, "", err
	}
	if err := s.conn(ctx).Omit("CreatedBy").Create(&sec).Error; err != nil {
		return nil, "", translate(err, "API secret")
	}
	return &sec, raw, nil
}

// FindSecrets lists API secrets (without hashes' use), newest first, one cursor page at a time.
func (s *Store) FindSecrets(ctx context.Context, p models.Page) ([]models.APISecret, string, error) {
	q := s.conn(ctx).Model(&models.APISecret{}).Preload("CreatedBy")
	items, next, err := paginate(q, p, "id", func(a *models.APISecret) string { return a.ID })
	return items, next, translate(err, "API secrets")
}

// FindSecret returns one API secret.
func (s *Store) FindSecret(ctx context.Context, id string) (*models.APISecret, error) {
	if !models.ValidID(id) {
		return nil, notFound("API secret")
	}
	var sec models.APISecret
	if err := s.conn(ctx).Preload("CreatedBy").First(&sec, "id = ?", id).Error; err != nil {
		return nil, translate(err, "API secret")
	}
	return &sec, nil
}

// RevokeSecret revokes an API secret and, in the same transaction, every
// session token it created; they all stop working at once. Revoking twice is
// harmless.
func (s *Store) RevokeSecret(ctx context.Context, id string) error {
	if _, err := s.FindSecret(ctx, id); err != nil {
		return err
	}
	now := s.now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&models.APISecret{}).Where("id = ? AND revoked_at IS NULL", id).
			UpdateColumn("revoked_at", now).Error; err != nil {
			return translate(err, "API secret")
		}
		return translate(tx.Model(&models.ConversationSession{}).Where("secret_id = ? AND revoked_at IS NULL", id).
			UpdateColumn("revoked_at", now).Error, "conversation sessions")
	})
}

// AuthenticateSecret finds the live secret for a raw Bearer value and records
// its use (at most once a minute, to spare a write per request).
func (s *Store) AuthenticateSecret(ctx context.Context, raw string) (*models.APISecret, error) {
	bad := models.Errorf(models.CodeUnauthorized, "Invalid or revoked API secret.")
	if !strings.HasPrefix(raw, SecretPrefix) {
		return nil, bad
	}
	var sec models.APISecret
	if err := s.conn(ctx).First(&sec, "hash = ? AND revoked_at IS NULL", models.HashToken(raw)).Error; err != nil {
		if models.ErrorCode(translate(err, "secret")) == models.CodeNotFound {
			return nil, bad
		}
		return nil, translate(err, "API secret")
	}
	if now := s.now(); sec.LastUsedAt == nil || now.Sub(*sec.LastUsedAt) > time.Minute {
		s.lazyConn(ctx).Model(&models.APISecret{}).Where("id = ?", sec.ID).UpdateColumn("last_used_at", now)
		sec.LastUsedAt = &now
	}
	return &sec, nil
}
