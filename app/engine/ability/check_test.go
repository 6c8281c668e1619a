package ability_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"parley/app/crypto"
	"parley/app/engine/ability"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// The store is the vault the app checks abilities against.
var _ ability.Vault = (*store.Store)(nil)

// fakeVault holds secret names, by name.
type fakeVault []string

func (v fakeVault) MissingVaultSecrets(_ context.Context, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if !slices.Contains(v, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (v fakeVault) VaultSecretNames(_ context.Context, limit int) ([]string, error) {
	return v[:min(limit, len(v))], nil
}

// fetchWithHeader is a fetch ability whose header says value.
func fetchWithHeader(value string) models.Ability {
	return models.Ability{Name: "Weather", Meta: models.Meta{"action": "fetch", "url": "https://api.weather.example/now",
		"headers": map[string]any{"Authorization": value}}}
}

func TestCheck(t *testing.T) {
	weather := fakeVault{"WEATHER_KEY"}
	many := fakeVault{}
	for i := range 25 {
		many = append(many, fmt.Sprintf("K%02d", i))
	}
	tests := []struct {
		name  string
		a     models.Ability
		vault ability.Vault
		want  string // "": valid
	}{
		{"InstructionOnly", models.Ability{Name: "Tone", Meta: models.Meta{"seed": "x"}}, weather, ""},
		{"Datetime", models.Ability{Name: "Clock", Meta: models.Meta{"action": "builtin:datetime"}}, weather, ""},
		{"Calculator", models.Ability{Name: "Calc", Meta: models.Meta{"action": " Builtin:Calculator "}}, weather, ""},
		{"FetchWithoutSecrets", fetchWithHeader("Bearer fixed"), fakeVault{}, ""},
		{"FetchWithSecret", fetchWithHeader("Bearer {{secret:WEATHER_KEY}}"), weather, ""},
		{"NoVaultNotChecked", fetchWithHeader("Bearer {{secret:NOPE}}"), nil, ""},
		{"ErrUnknownAction", models.Ability{Name: "Calc", Meta: models.Meta{"action": "builtin:calculater"}}, weather,
			"Unknown action builtin:calculater. Known actions: builtin:datetime, builtin:calculator, fetch."},
		{"ErrActionNotString", models.Ability{Name: "Calc", Meta: models.Meta{"action": 1.0}}, weather,
			`Ability "Calc": meta "action" must be a string, like "builtin:datetime" or "fetch".`},
		{"ErrFetchWithoutURL", models.Ability{Name: "Status", Meta: models.Meta{"action": "fetch"}}, weather,
			`Ability "Status": a fetch action needs a url.`},
		{"ErrUnknownSecret", fetchWithHeader("Bearer {{secret:NOPE}}"), weather,
			"No vault secret named NOPE. Secrets in the vault: WEATHER_KEY."},
		{"ErrVaultEmpty", fetchWithHeader("Bearer {{secret:NOPE}}"), fakeVault{},
			"No vault secret named NOPE. The vault is empty: add the secret under Vault first."},
		{"ErrSecretsUnknown", fetchWithHeader("{{secret:A}}:{{secret:B}}:{{secret:A}}:{{secret:WEATHER_KEY}}"), weather,
			"No vault secrets named A, B. Secrets in the vault: WEATHER_KEY."},
		{"ErrManySecretsListed", fetchWithHeader("{{secret:NOPE}}"), many,
			"No vault secret named NOPE. Secrets in the vault: K00, K01, K02, K03, K04, K05, K06, K07, K08, K09, K10, K11, K12, K13, K14, K15, K16, K17, K18, K19, …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ability.Check(context.Background(), tt.a, tt.vault)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if got := models.ErrorFields(err)["meta"]; got != tt.want {
				t.Errorf("meta error = %q, want %q (err: %v)", got, tt.want, err)
			}
			if models.ErrorCode(err) != models.CodeInvalid {
				t.Errorf("code = %q, want invalid", models.ErrorCode(err))
			}
		})
	}
}

// TestCheckStore checks secrets against the store's vault, whose values the
// check never reads.
func TestCheckStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("ErrVaultEmpty", func(t *testing.T) {
			err := ability.Check(ctx, fetchWithHeader("Bearer {{secret:WEATHER_KEY}}"), s)
			want := "No vault secret named WEATHER_KEY. The vault is empty: add the secret under Vault first."
			if got := models.ErrorFields(err)["meta"]; got != want {
				t.Errorf("meta error = %q, want %q", got, want)
			}
		})
		box, err := crypto.NewBox(bytes.Repeat([]byte{3}, crypto.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		s.SetBox(box)
		for _, name := range []string{"WEATHER_KEY", "STATUS_TOKEN"} {
			if _, err := s.CreateVaultSecret(ctx, models.VaultSecret{Name: name}, "v-"+name); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("OK", func(t *testing.T) {
			if err := ability.Check(ctx, fetchWithHeader("Bearer {{secret:WEATHER_KEY}} {{secret:STATUS_TOKEN}}"), s); err != nil {
				t.Errorf("Check = %v, want nil", err)
			}
		})
		t.Run("ErrCaseMatters", func(t *testing.T) {
			// VaultValue matches names exactly, so the check does too.
			err := ability.Check(ctx, fetchWithHeader("Bearer {{secret:weather_key}}"), s)
			want := "No vault secret named weather_key. Secrets in the vault: STATUS_TOKEN, WEATHER_KEY."
			if got := models.ErrorFields(err)["meta"]; got != want {
				t.Errorf("meta error = %q, want %q", got, want)
			}
		})
	})
}
