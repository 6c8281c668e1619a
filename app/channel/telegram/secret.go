package telegram

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// SecretHeader is the header in which Telegram sends the webhook's secret
// token with every update.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// CheckSecret reports whether header (the SecretHeader of a webhook
// request) is the secret token want, in constant time, so that only
// Telegram can post updates. An empty want matches nothing.
func CheckSecret(header, want string) bool {
	if want == "" {
		return false
	}
	// Hashing first makes the comparison's time independent of the
	// lengths too.
	h, w := sha256.Sum256([]byte(header)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(h[:], w[:]) == 1
}

// NewSecretToken returns a random secret token for SetWebhook: 48
// characters of A-Z, a-z, 0-9, _ and - (288 bits).
func NewSecretToken() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidSecretToken reports whether s is a secret token Telegram accepts:
// 1–256 characters of A-Z, a-z, 0-9, _ and -.
func ValidSecretToken(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
