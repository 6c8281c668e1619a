package ability

import (
	"context"
	"net/http"

	"parley/models"
)

// Loader makes the runners of abilities with one HTTP client (the SSRF-guarded
// one, with the PARLEY_FETCH_ALLOW list) and one source of vault secrets, so
// real turns and the dashboard's "Try it" run an ability the same way.
type Loader struct {
	client  *http.Client
	secrets SecretLookup
	vault   Vault
}

// NewLoader makes a Loader; client, secrets and vault (which secret names
// exist, for Check) are required.
func NewLoader(client *http.Client, secrets SecretLookup, vault Vault) *Loader {
	return &Loader{client: client, secrets: secrets, vault: vault}
}

// Check validates an ability before it is saved (see Check), against this
// loader's vault.
func (l *Loader) Check(ctx context.Context, a models.Ability) error { return Check(ctx, a, l.vault) }

// Load parses an ability into its runner (nil for an instruction-only
// ability); opts adjust the run (a shorter timeout for a try, say).
func (l *Loader) Load(a models.Ability, opts ...Option) (Runner, error) {
	all := append([]Option{WithClient(l.client), WithSecrets(l.secrets)}, opts...)
	return Parse(a, all...)
}

// Runner is Load without options: the loader real turns use.
func (l *Loader) Runner(a models.Ability) (Runner, error) { return l.Load(a) }
