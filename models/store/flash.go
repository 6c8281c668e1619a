package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"gorm.io/gorm"

	"parley/models"
)

// FlashTTL is how long a flash waits to be taken before it expires.
const FlashTTL = 5 * time.Minute

// flashKeyLabel separates the flash key from every other use of the session
// token (its hash is the session's id).
const flashKeyLabel = "parley flash key v1\x00"

// flash is a row of the flashes table: a one-time value bound to an operator's
// sign-in session, encrypted under a key only that session's cookie gives.
type flash struct {
	ID        string    `gorm:"primaryKey;size:36"`
	SessionID string    `gorm:"size:64;not null"`
	Kind      string    `gorm:"size:100;not null"`
	Payload   string    `gorm:"type:text;not null"`
	ExpiresAt time.Time `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

func (flash) TableName() string { return "flashes" }

// PutFlash keeps payload for a few minutes (FlashTTL) for the operator session
// whose raw cookie token is sessionToken, and returns the flash's id, by which
// TakeFlash gets it back once. kind says what the payload is for (such as
// "api-secret/<id>"); a flash is only taken with the same kind. The payload is
// sealed with AES-256-GCM under a key derived from the raw token, which the
// database never holds, so the database alone cannot reveal it. Expired
// flashes are deleted on the way.
func (s *Store) PutFlash(ctx context.Context, sessionToken, kind string, payload []byte) (string, error) {
	if sessionToken == "" {
		return "", models.Errorf(models.CodeUnauthorized, "Please sign in.")
	}
	now := s.now()
	f := flash{ID: models.NewID(), SessionID: models.HashToken(sessionToken), Kind: kind,
		ExpiresAt: now.Add(FlashTTL), CreatedAt: now}
	sealed, err := sealFlash(sessionToken, f.ID, kind, payload)
	if err != nil {
		return "", err
	}
	f.Payload = sealed
	db := s.conn(ctx)
	if err := db.Create(&f).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return "", models.Errorf(models.CodeUnauthorized, "Your session has ended: please sign in again.")
		}
		return "", translate(err, "flash")
	}
	// Opportunistic clean-up of flashes nobody came back for.
	db.Where("expires_at <= ?", now).Delete(&flash{})
	return f.ID, nil
}

// TakeFlash returns a flash's payload and deletes it, so it is read at most
// once. It is not found when the id is unknown, of another kind, expired,
// already taken, or another session's (whose cookie token does not open it).
func (s *Store) TakeFlash(ctx context.Context, sessionToken, kind, id string) ([]byte, error) {
	gone := models.Errorf(models.CodeNotFound, "This was shown once already, or it has expired.")
	if sessionToken == "" || !models.ValidID(id) {
		return nil, gone
	}
	var payload []byte
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var f flash
		err := tx.Take(&f, "id = ? AND session_id = ? AND kind = ? AND expires_at > ?",
			id, models.HashToken(sessionToken), kind, s.now()).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return gone
		}
		if err != nil {
			return translate(err, "flash")
		}
		// Of two requests taking the same flash, one deletes it and the
		// other finds nothing to delete: only the first gets the payload.
		res := tx.Delete(&flash{}, "id = ?", f.ID)
		if res.Error != nil {
			return translate(res.Error, "flash")
		}
		if res.RowsAffected == 0 {
			return gone
		}
		payload, err = openFlash(sessionToken, f.ID, f.Kind, f.Payload)
		if err != nil {
			return gone
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return payload, nil
}

// flashAEAD is AES-256-GCM under SHA-256(label ‖ raw session token).
func flashAEAD(sessionToken string) (cipher.AEAD, error) {
	key := sha256.Sum256([]byte(flashKeyLabel + sessionToken))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealFlash encrypts payload, bound to the flash's id and kind (so a sealed
// payload moved to another row does not open), as base64 of nonce ‖ ciphertext.
func sealFlash(sessionToken, id, kind string, payload []byte) (string, error) {
	aead, err := flashAEAD(sessionToken)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := aead.Seal(nonce, nonce, payload, []byte(id+"\x00"+kind))
	return base64.StdEncoding.EncodeToString(out), nil
}

func openFlash(sessionToken, id, kind, sealed string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, err
	}
	aead, err := flashAEAD(sessionToken)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("flash: too short")
	}
	return aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id+"\x00"+kind))
}
