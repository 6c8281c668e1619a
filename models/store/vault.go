package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"parley/models"
)

// Sealer encrypts the secrets the store must be able to read back (provider
// API keys, vault secrets). app/crypto's Box is one; the store does not
// import it, so it never holds a key itself.
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// SetBox sets how the store encrypts provider keys and vault secrets. Without
// one, saving a key or a secret fails with a clear "unavailable" error and
// nothing is stored in the clear.
func (s *Store) SetBox(b Sealer) {
	s.boxMu.Lock()
	defer s.boxMu.Unlock()
	s.box = b
}

// errNoBox says encryption was not set up.
var errNoBox = models.Errorf(models.CodeUnavailable,
	"Secrets cannot be stored or read: encryption is not set up on this server (PARLEY_SECRET_KEY or data/secret.key).")

func (s *Store) sealer() (Sealer, error) {
	s.boxMu.RLock()
	defer s.boxMu.RUnlock()
	if s.box != nil {
		return s.box, nil
	}
	return nil, errNoBox
}

func (s *Store) seal(plain string) (string, error) {
	b, err := s.sealer()
	if err != nil {
		return "", err
	}
	out, err := b.Seal([]byte(plain))
	if err != nil {
		return "", models.Errorf(models.CodeInternal, "The secret could not be encrypted.")
	}
	return out, nil
}

// open decrypts a sealed value; what names it in the error (which never
// contains the value).
func (s *Store) open(sealed, what string) (string, error) {
	b, err := s.sealer()
	if err != nil {
		return "", err
	}
	plain, err := b.Open(sealed)
	if err != nil {
		return "", models.Errorf(models.CodeUnavailable,
			"%s cannot be decrypted: it was encrypted with another secret key (was PARLEY_SECRET_KEY or data/secret.key changed?). Restore that key, or enter it again.", capitalize(what))
	}
	return string(plain), nil
}

// settingBoxCheck holds a value sealed with the key in use when the first
// secret was stored, so a changed key is noticed at start-up, not at the first
// failing turn.
const settingBoxCheck = "crypto_check"

const boxCheckPlain = "parley secret key check"

// CheckBox makes sure the Box set with SetBox is the one this database's
// secrets were sealed with: the first call on a database records a check
// value; later calls (on any instance) open it. A mismatch is an
// "unavailable" error saying what to do.
func (s *Store) CheckBox(ctx context.Context) error {
	b, err := s.sealer()
	if err != nil {
		return err
	}
	sealed, err := b.Seal([]byte(boxCheckPlain))
	if err != nil {
		return models.Errorf(models.CodeInternal, "The secret key check could not be encrypted.")
	}
	db := s.conn(ctx)
	err = db.Exec("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
		settingBoxCheck, sealed, s.now()).Error
	if err != nil {
		return translate(err, "setting")
	}
	var stored []string
	if err := db.Table("settings").Where("key = ?", settingBoxCheck).Pluck("value", &stored).Error; err != nil {
		return translate(err, "setting")
	}
	if len(stored) != 1 {
		return fmt.Errorf("store: the secret key check is missing from settings")
	}
	if plain, err := b.Open(stored[0]); err != nil || string(plain) != boxCheckPlain {
		return models.Errorf(models.CodeUnavailable,
			"The secret key (PARLEY_SECRET_KEY, or data/secret.key) is not the one this database's provider keys and vault secrets were encrypted with: they cannot be read. Restore the original key, or enter the keys and secrets again.")
	}
	return nil
}

// CreateVaultSecret validates and stores a secret for abilities; its value is
// stored encrypted and required.
func (s *Store) CreateVaultSecret(ctx context.Context, v models.VaultSecret, value string) (*models.VaultSecret, error) {
	v.ID = models.NewID()
	normalizeVaultSecret(&v)
	if err := checkVault(&v, &value, true); err != nil {
		return nil, err
	}
	enc, err := s.seal(value)
	if err != nil {
		return nil, err
	}
	v.ValueEnc = enc
	if err := s.conn(ctx).Create(&v).Error; err != nil {
		return nil, vaultNameTaken(err, v.Name)
	}
	return &v, nil
}

// UpdateVaultSecret saves a secret's name and description and, when newValue
// is not nil, its value (which may not be empty).
func (s *Store) UpdateVaultSecret(ctx context.Context, v models.VaultSecret, newValue *string) (*models.VaultSecret, error) {
	normalizeVaultSecret(&v)
	if err := checkVault(&v, newValue, newValue != nil); err != nil {
		return nil, err
	}
	var enc string
	if newValue != nil {
		var err error
		if enc, err = s.seal(*newValue); err != nil {
			return nil, err
		}
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cur models.VaultSecret
		if !models.ValidID(v.ID) {
			return notFound("vault secret")
		}
		if err := tx.First(&cur, "id = ?", v.ID).Error; err != nil {
			return translate(err, "vault secret")
		}
		v.CreatedAt = cur.CreatedAt
		v.ValueEnc = cur.ValueEnc
		if newValue != nil {
			v.ValueEnc = enc
		}
		if err := update(tx, &v, v.ID, "vault secret"); err != nil {
			return vaultNameTaken(err, v.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func normalizeVaultSecret(v *models.VaultSecret) {
	v.Name = strings.TrimSpace(v.Name)
	v.Description = strings.TrimSpace(v.Description)
}

// checkVault validates the secret and, when required, its value.
func checkVault(v *models.VaultSecret, value *string, required bool) error {
	fields := map[string]string{}
	for k, msg := range models.ErrorFields(v.Validate()) {
		fields[k] = msg
	}
	if required {
		switch {
		case value == nil || strings.TrimSpace(*value) == "":
			fields["value"] = "Value is required."
		case len(*value) > models.MaxVaultValueLength:
			fields["value"] = "Value must be at most 10000 characters."
		case strings.ContainsAny(*value, "\r\n"):
			fields["value"] = "Value must be one line: it is sent in a request header."
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &models.Error{Code: models.CodeInvalid, Message: "Please correct the fields marked below.", Fields: fields}
}

// vaultNameTaken turns a unique violation into an error next to the name field.
func vaultNameTaken(err error, name string) error {
	err = translate(err, "vault secret")
	if models.ErrorCode(err) == models.CodeConflict {
		return models.FieldError("name", "A secret named "+name+" already exists.")
	}
	return err
}

// FindVaultSecret returns one vault secret (its value stays encrypted).
func (s *Store) FindVaultSecret(ctx context.Context, id string) (*models.VaultSecret, error) {
	if !models.ValidID(id) {
		return nil, notFound("vault secret")
	}
	var v models.VaultSecret
	if err := s.conn(ctx).First(&v, "id = ?", id).Error; err != nil {
		return nil, translate(err, "vault secret")
	}
	return &v, nil
}

// FindVaultSecrets lists vault secrets, newest first by default, one cursor
// page at a time, without their values.
func (s *Store) FindVaultSecrets(ctx context.Context, p models.Page) ([]models.VaultSecret, string, error) {
	q := s.conn(ctx).Model(&models.VaultSecret{}).Omit("value_enc")
	items, next, err := paginate(q, p, "id", func(v *models.VaultSecret) string { return v.ID })
	return items, next, translate(err, "vault secrets")
}

// DeleteVaultSecret deletes a vault secret; abilities that use it fail with a
// clear error until it is created again.
func (s *Store) DeleteVaultSecret(ctx context.Context, id string) error {
	return s.deleteRow(ctx, &models.VaultSecret{}, id, "vault secret")
}

// VaultValue returns the decrypted value of the vault secret named name: the
// ability.SecretLookup for fetch headers' {{secret:NAME}}.
func (s *Store) VaultValue(ctx context.Context, name string) (string, error) {
	var v models.VaultSecret
	err := s.conn(ctx).Select("id", "value_enc").Where("name = ?", name).Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", models.Errorf(models.CodeNotFound, "There is no vault secret named %q: create it under Providers → Vault.", name)
	}
	if err != nil {
		return "", translate(err, "vault secret")
	}
	return s.open(v.ValueEnc, "the vault secret "+name)
}
