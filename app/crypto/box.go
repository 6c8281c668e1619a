// Package crypto encrypts the secrets Parley must be able to read back —
// provider API keys and the vault's secrets for abilities — so the database
// alone never reveals them. A Box seals with AES-256-GCM under a key that
// comes from PARLEY_SECRET_KEY or, for the embedded default database, from a
// key file generated once in the data directory (see LoadKey).
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a Box key in bytes (AES-256).
const KeySize = 32

// version1 prefixes every sealed value: the format, then the id of the key
// that sealed it, so a Box holding old keys can open values sealed before a
// key rotation and say clearly when a value needs a key it does not have.
const version1 = "v1"

// Errors Open returns. They never contain the plaintext or the key.
var (
	// ErrMalformed means the text is not a value a Box sealed.
	ErrMalformed = errors.New("crypto: not a sealed value")
	// ErrWrongKey means the value was sealed with a key this Box does not hold.
	ErrWrongKey = errors.New("crypto: the value was sealed with a different key (was the secret key changed?)")
	// ErrTampered means authentication failed: the value was altered.
	ErrTampered = errors.New("crypto: the sealed value was altered or is corrupt")
)

// Box seals and opens small secrets with AES-256-GCM and a random nonce per
// value. It is safe for concurrent use.
type Box struct {
	id   string                 // id of the key new values are sealed with
	aead map[string]cipher.AEAD // by key id: the current key and older ones
}

// NewBox makes a Box that seals with key (32 bytes) and opens values sealed
// with key or any of the older keys (for rotating the key later).
func NewBox(key []byte, older ...[]byte) (*Box, error) {
	b := &Box{aead: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{key}, older...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("crypto: a key must be %d bytes, got %d", KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("crypto: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("crypto: %w", err)
		}
		id := keyID(k)
		if i == 0 {
			b.id = id
		}
		if _, dup := b.aead[id]; !dup {
			b.aead[id] = aead
		}
	}
	return b, nil
}

// keyID names a key without revealing it: a short hash under a fixed label.
func keyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("parley key id\x00"))
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// Seal encrypts plaintext and returns it as text: "v1:<key id>:<base64 of
// nonce and ciphertext>". Sealing the same plaintext twice gives different text.
func (b *Box) Seal(plaintext []byte) (string, error) {
	aead := b.aead[b.id]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("crypto: random nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, []byte(version1))
	return version1 + ":" + b.id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts text made by Seal (with this Box's key or an older one it holds).
func (b *Box) Open(text string) ([]byte, error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 || parts[0] != version1 {
		return nil, ErrMalformed
	}
	aead, ok := b.aead[parts[1]]
	if !ok {
		return nil, ErrWrongKey
	}
	raw, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrMalformed
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], []byte(version1))
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}
