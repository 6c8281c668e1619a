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

// AuthenticateSecretHit is AuthenticateSecret followed by Hit on the
// secret's bucket (bucketPrefix and its id) within limit per window: on
// PostgreSQL in one statement (every API request pays it). allowed and
// retryAfter are Hit's.
func (s *Store) AuthenticateSecretHit(ctx context.Context, raw, bucketPrefix string, limit int, window time.Duration) (sec *models.APISecret, allowed bool, retryAfter time.Duration, err error) {
	if s.dialect != Postgres || window <= 0 {
		if sec, err = s.AuthenticateSecret(ctx, raw); err != nil {
			return nil, false, 0, err
		}
		allowed, retryAfter, err = s.Hit(ctx, bucketPrefix+sec.ID, limit, window)
		return sec, allowed, retryAfter, err
	}
	if !strings.HasPrefix(raw, SecretPrefix) {
		return nil, false, 0, errBadSecret()
	}
	now := s.now()
	start := windowStart(now, window)
	db := s.lazyConn(ctx) // the count is a lazy write (see Hit); the read is any read
	var rows []struct {
		models.APISecret `gorm:"embedded"`
		Hits             *int64
	}
	err = db.Raw(`WITH s AS (SELECT * FROM api_secrets WHERE hash = ? AND revoked_at IS NULL LIMIT 1),
h AS (INSERT INTO rate_limits (bucket, window_start, "count") SELECT ? || s.id, ?, 1 FROM s
	ON CONFLICT (bucket, window_start) DO UPDATE SET "count" = rate_limits."count" + 1 RETURNING "count")
SELECT s.*, (SELECT "count" FROM h) AS hits FROM s`, models.HashToken(raw), bucketPrefix, start).Scan(&rows).Error
	if err != nil {
		return nil, false, 0, translate(err, "API secret")
	}
	if len(rows) == 0 {
		return nil, false, 0, errBadSecret()
	}
	sec = &rows[0].APISecret
	if rows[0].Hits == nil || rateLimitBucket(bucketPrefix+sec.ID) != bucketPrefix+sec.ID {
		return nil, false, 0, models.Errorf(models.CodeInternal, "The request could not be counted.")
	}
	s.touchSecret(ctx, sec, now)
	allowed, retryAfter = s.counted(db, bucketPrefix+sec.ID, start, now, *rows[0].Hits, limit, window)
	return sec, allowed, retryAfter, nil
}

// AuthenticateSecret finds the live secret for a raw Bearer value and records
// its use (at most once a minute, to spare a write per request).
func (s *Store) AuthenticateSecret(ctx context.Context, raw string) (*models.APISecret, error) {
	if !strings.HasPrefix(raw, SecretPrefix) {
		return nil, errBadSecret()
	}
	var sec models.APISecret
	if err := s.conn(ctx).First(&sec, "hash = ? AND revoked_at IS NULL", models.HashToken(raw)).Error; err != nil {
		if models.ErrorCode(translate(err, "secret")) == models.CodeNotFound {
			return nil, errBadSecret()
		}
		return nil, translate(err, "API secret")
	}
	s.touchSecret(ctx, &sec, s.now())
	return &sec, nil
}

// errBadSecret refuses a Bearer value that is no live secret.
func errBadSecret() error {
	return models.Errorf(models.CodeUnauthorized, "Invalid or revoked API secret.")
}

// touchSecret records that sec was used now, at most once a minute (to
// spare a write per request), as a lazy write.
func (s *Store) touchSecret(ctx context.Context, sec *models.APISecret, now time.Time) {
	if sec.LastUsedAt == nil || now.Sub(*sec.LastUsedAt) > time.Minute {
		s.lazyConn(ctx).Model(&models.APISecret{}).Where("id = ?", sec.ID).UpdateColumn("last_used_at", now)
		sec.LastUsedAt = &now
	}
}
