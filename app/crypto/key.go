package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated key file in the data directory.
const KeyFile = "secret.key"

// MinSecretKeyLength is the shortest PARLEY_SECRET_KEY accepted.
const MinSecretKeyLength = 32

// hkdfInfo labels the key derived from PARLEY_SECRET_KEY, so the same secret
// used elsewhere never yields this key.
const hkdfInfo = "parley secret box v1"

// LoadKey returns the 32-byte key a Box seals with. When secretKey
// (PARLEY_SECRET_KEY, at least 32 characters) is given, the key is derived
// from it with HKDF-SHA-256, so every instance given the same secret agrees.
// Otherwise the key is read from <dataDir>/secret.key, which is generated
// (32 random bytes, base64, mode 0600) on first use; two processes starting at
// once end up with the same key, never with two.
func LoadKey(secretKey, dataDir string) ([]byte, error) {
	if secretKey != "" {
		if len(secretKey) < MinSecretKeyLength {
			return nil, fmt.Errorf("PARLEY_SECRET_KEY must be at least %d characters", MinSecretKeyLength)
		}
		key, err := hkdf.Key(sha256.New, []byte(secretKey), nil, hkdfInfo, KeySize)
		if err != nil {
			return nil, fmt.Errorf("crypto: derive key: %w", err)
		}
		return key, nil
	}
	if dataDir == "" {
		dataDir = "."
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKeyFile(dataDir, path); err != nil {
		return nil, err
	}
	return readKeyFile(path)
}

// readKeyFile reads and decodes a key file.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("crypto: read the key file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("crypto: %s is not a key Parley made (want %d bytes in base64); restore it from a backup, or set PARLEY_SECRET_KEY", path, KeySize)
	}
	return key, nil
}

// createKeyFile writes a new random key to path unless a key file is already
// there. The key is written to a temporary file first and then linked into
// place, which fails if path exists: a reader never sees a half-written key,
// and of two processes racing, one key wins and both use it.
func createKeyFile(dir, path string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("crypto: create %s: %w", dir, err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("crypto: random key: %w", err)
	}
	content := []byte(base64.StdEncoding.EncodeToString(key) + "\n")

	tmp, err := os.CreateTemp(dir, "."+KeyFile+".*") // mode 0600
	if err != nil {
		return fmt.Errorf("crypto: create the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(content)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("crypto: write the key file: %w", err)
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil, errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, errors.ErrUnsupported), errors.Is(err, fs.ErrPermission):
		// A file system without hard links: create exclusively instead.
		return createExclusive(path, content)
	}
	return fmt.Errorf("crypto: create the key file: %w", err)
}

// createExclusive creates path with O_EXCL (mode 0600); an existing file wins.
func createExclusive(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("crypto: create the key file: %w", err)
	}
	_, werr := f.Write(content)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		return fmt.Errorf("crypto: write the key file: %w", err)
	}
	return nil
}

// DataDir is where the generated key file lives for a DATABASE_URL: the
// directory of the SQLite file ("data" for the default sqlite:data/parley.db),
// and "" when there is none (PostgreSQL, or an in-memory SQLite database), in
// which case PARLEY_SECRET_KEY should be set (see KeyFor).
func DataDir(databaseURL string) string {
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok || path == "" || path == ":memory:" {
		return ""
	}
	return filepath.Dir(path)
}

// KeyFor returns the key for a configuration: derived from PARLEY_SECRET_KEY
// when set; else the data directory's key file for a SQLite database; else,
// for PostgreSQL without PARLEY_SECRET_KEY, an error, because instances
// sharing one database must share the key and none may keep state of its own.
// An in-memory SQLite database gets a random key that lives as long as it does.
func KeyFor(secretKey, databaseURL string) ([]byte, error) {
	if secretKey != "" {
		return LoadKey(secretKey, "")
	}
	if strings.HasPrefix(databaseURL, "sqlite:") {
		dir := DataDir(databaseURL)
		if dir == "" {
			key := make([]byte, KeySize)
			_, err := rand.Read(key)
			return key, err
		}
		return LoadKey("", dir)
	}
	return nil, errors.New("PARLEY_SECRET_KEY is required with PostgreSQL: every instance must encrypt provider keys and vault secrets with the same key (at least 32 characters, e.g. from `openssl rand -base64 48`)")
}
