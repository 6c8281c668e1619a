package store

import (
	"context"

	"parley/models"
)

// ProviderNames returns up to limit configured providers' names, by name:
// what a check lists when a bot's model names a provider that does not exist.
func (s *Store) ProviderNames(ctx context.Context, limit int) ([]string, error) {
	var names []string
	err := s.conn(ctx).Model(&models.Provider{}).Order("name").Limit(limit).Pluck("name", &names).Error
	return names, translate(err, "providers")
}

// VaultSecretNames returns up to limit vault secrets' names, by name, and
// never a value: what a check lists when an ability uses a secret that does
// not exist.
func (s *Store) VaultSecretNames(ctx context.Context, limit int) ([]string, error) {
	var names []string
	err := s.conn(ctx).Model(&models.VaultSecret{}).Order("name").Limit(limit).Pluck("name", &names).Error
	return names, translate(err, "vault secrets")
}

// MissingVaultSecrets returns which of names no vault secret has, in the
// order given, matching names as VaultValue does.
func (s *Store) MissingVaultSecrets(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var found []string
	err := s.conn(ctx).Model(&models.VaultSecret{}).Where("name IN ?", names).Pluck("name", &found).Error
	if err != nil {
		return nil, translate(err, "vault secrets")
	}
	have := make(map[string]bool, len(found))
	for _, n := range found {
		have[n] = true
	}
	var missing []string
	for _, n := range names {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}
