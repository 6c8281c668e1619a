package ability

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"parley/models"
)

// maxListedSecrets bounds how many vault secrets a check's message names.
const maxListedSecrets = 20

// Vault tells which vault secrets exist, by name only: a check never reads a
// value. *store.Store is one.
type Vault interface {
	// MissingVaultSecrets returns which of names no vault secret has.
	MissingVaultSecrets(ctx context.Context, names []string) ([]string, error)
	// VaultSecretNames returns up to limit secret names, by name.
	VaultSecretNames(ctx context.Context, limit int) ([]string, error)
}

// Check validates an ability before it is saved, so that a typo fails at
// save rather than at chat time: its action must be one of Actions, the rest
// of its meta must be what Parse accepts (a fetch needs a url, …), and every
// {{secret:NAME}} its fetch headers use must be in the vault (vault nil: not
// checked). Failures are invalid-input errors on the field "meta" whose
// message names what exists; other errors are the vault's.
func Check(ctx context.Context, a models.Ability, vault Vault) error {
	action, err := actionOf(a)
	if err != nil || action == "" {
		return err
	}
	if !slices.Contains(Actions, action) {
		written, _ := a.Meta["action"].(string)
		return models.FieldError("meta", fmt.Sprintf("Unknown action %s. Known actions: %s.",
			strings.TrimSpace(written), strings.Join(Actions, ", ")))
	}
	r, err := Parse(a)
	if err != nil {
		return err
	}
	f, ok := r.(*fetch)
	if !ok || vault == nil {
		return nil
	}
	return checkSecrets(ctx, f.secretNames(), vault)
}

// secretNames lists the vault secrets the fetch's headers use, each once, in
// order of the headers.
func (f *fetch) secretNames() []string {
	var names []string
	for _, h := range f.headers {
		for _, p := range h.parts {
			if p.secret != "" && !slices.Contains(names, p.secret) {
				names = append(names, p.secret)
			}
		}
	}
	return names
}

// checkSecrets makes sure every name is a vault secret, naming those that
// are in the vault when one is not.
func checkSecrets(ctx context.Context, names []string, vault Vault) error {
	missing, err := vault.MissingVaultSecrets(ctx, names)
	if err != nil || len(missing) == 0 {
		return err
	}
	have, err := vault.VaultSecretNames(ctx, maxListedSecrets+1)
	if err != nil {
		return err
	}
	msg := "No vault secret named " + missing[0] + "."
	if len(missing) > 1 {
		msg = "No vault secrets named " + strings.Join(missing, ", ") + "."
	}
	switch {
	case len(have) == 0:
		msg += " The vault is empty: add the secret under Vault first."
	case len(have) > maxListedSecrets:
		msg += " Secrets in the vault: " + strings.Join(have[:maxListedSecrets], ", ") + ", …"
	default:
		msg += " Secrets in the vault: " + strings.Join(have, ", ") + "."
	}
	return models.FieldError("meta", msg)
}
