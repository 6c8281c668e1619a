package store_test

import (
	"strings"
	"testing"

	"parley/app/engine/ability"
	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

// VaultValue is what fetch abilities look secrets up with.
var _ ability.SecretLookup = (*store.Store)(nil).VaultValue

const vaultValue = "wx-0123456789-SECRET"

func mustVaultSecret(t *testing.T, s *store.Store, name, value string) *models.VaultSecret {
	t.Helper()
	v, err := s.CreateVaultSecret(t.Context(), models.VaultSecret{Name: name, Description: "for tests"}, value)
	if err != nil {
		t.Fatalf("CreateVaultSecret(%q): %v", name, err)
	}
	return v
}

func TestVault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		useBox(t, s, 1)
		ctx := t.Context()
		var v *models.VaultSecret
		t.Run("Create", func(t *testing.T) {
			var err error
			v, err = s.CreateVaultSecret(ctx, models.VaultSecret{Name: " WEATHER_API_KEY ", Description: " Weather service "}, vaultValue)
			if err != nil {
				t.Fatalf("CreateVaultSecret: %v", err)
			}
			if v.Name != "WEATHER_API_KEY" || v.Description != "Weather service" {
				t.Errorf("secret = %+v, want trimmed", v)
			}
			enc := rawColumn(t, s, "vault_secrets", "value_enc", v.ID)
			if enc == nil || !strings.HasPrefix(*enc, "v1:") {
				t.Errorf("value_enc = %v, want a sealed value", enc)
			}
			wantNoSecretInRow(t, s, "vault_secrets", v.ID, vaultValue)
			got, err := s.VaultValue(ctx, "WEATHER_API_KEY")
			if err != nil || got != vaultValue {
				t.Errorf("VaultValue = %q, %v; want the value", got, err)
			}
			if v.Reference() != "{{secret:WEATHER_API_KEY}}" {
				t.Errorf("Reference = %q", v.Reference())
			}
		})

		cases := []struct {
			name   string
			secret models.VaultSecret
			value  string
			fields []string
		}{
			{"ErrNameRequired", models.VaultSecret{Name: " "}, "x", []string{"name"}},
			{"ErrNameChars", models.VaultSecret{Name: "my key!"}, "x", []string{"name"}},
			{"ErrNameLong", models.VaultSecret{Name: strings.Repeat("k", 101)}, "x", []string{"name"}},
			{"ErrValueRequired", models.VaultSecret{Name: "EMPTY"}, "  ", []string{"value"}},
			{"ErrValueLineBreak", models.VaultSecret{Name: "BROKEN"}, "a\nb", []string{"value"}},
			{"ErrValueLong", models.VaultSecret{Name: "LONG"}, strings.Repeat("v", models.MaxVaultValueLength+1), []string{"value"}},
			{"ErrDescriptionLong", models.VaultSecret{Name: "DESC", Description: strings.Repeat("d", 501)}, "x", []string{"description"}},
			{"ErrNameTaken", models.VaultSecret{Name: "WEATHER_API_KEY"}, "x", []string{"name"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "vault_secrets", "")
				_, err := s.CreateVaultSecret(ctx, tc.secret, tc.value)
				wantFieldErrors(t, err, tc.fields...)
				if got := count(t, s, "vault_secrets", ""); got != before {
					t.Errorf("vault_secrets = %d after a refused create, want %d", got, before)
				}
			})
		}

		t.Run("UpdateBlankKeeps", func(t *testing.T) {
			in := *v
			in.Description = "Weather, renamed"
			in.Name = "WEATHER_KEY"
			got, err := s.UpdateVaultSecret(ctx, in, nil)
			if err != nil {
				t.Fatalf("UpdateVaultSecret: %v", err)
			}
			if got.Name != "WEATHER_KEY" || got.Description != "Weather, renamed" {
				t.Errorf("updated = %+v", got)
			}
			if val, err := s.VaultValue(ctx, "WEATHER_KEY"); err != nil || val != vaultValue {
				t.Errorf("VaultValue = %q, %v; want the kept value", val, err)
			}
		})
		t.Run("UpdateNewValue", func(t *testing.T) {
			cur, _ := s.FindVaultSecret(ctx, v.ID)
			if _, err := s.UpdateVaultSecret(ctx, *cur, ptr("new-value")); err != nil {
				t.Fatal(err)
			}
			if val, _ := s.VaultValue(ctx, "WEATHER_KEY"); val != "new-value" {
				t.Errorf("VaultValue = %q, want the new value", val)
			}
		})
		t.Run("ErrUpdateEmptyValue", func(t *testing.T) {
			cur, _ := s.FindVaultSecret(ctx, v.ID)
			_, err := s.UpdateVaultSecret(ctx, *cur, ptr(""))
			wantFieldErrors(t, err, "value")
		})
		t.Run("ErrUpdateNotFound", func(t *testing.T) {
			_, err := s.UpdateVaultSecret(ctx, models.VaultSecret{ID: models.NewID(), Name: "X"}, nil)
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("ListWithoutValues", func(t *testing.T) {
			mustVaultSecret(t, s, "SECOND", "second-value")
			items, next, err := s.FindVaultSecrets(ctx, models.Page{Limit: 1})
			if err != nil || len(items) != 1 || next == "" {
				t.Fatalf("FindVaultSecrets = %d items, next %q, %v", len(items), next, err)
			}
			rest, next2, err := s.FindVaultSecrets(ctx, models.Page{Cursor: next, Limit: 1})
			if err != nil || len(rest) != 1 || next2 != "" {
				t.Fatalf("second page = %d items, next %q, %v", len(rest), next2, err)
			}
			for _, it := range append(items, rest...) {
				if it.ValueEnc != "" {
					t.Errorf("listing %s loaded its encrypted value", it.Name)
				}
			}
			if items[0].Name != "SECOND" || rest[0].Name != "WEATHER_KEY" {
				t.Errorf("order = %s, %s; want newest first", items[0].Name, rest[0].Name)
			}
		})
		t.Run("ErrUnknownName", func(t *testing.T) {
			_, err := s.VaultValue(ctx, "NOPE")
			wantCode(t, err, models.CodeNotFound)
			if !strings.Contains(models.ErrorMessage(err), `"NOPE"`) {
				t.Errorf("message %q does not name the secret", models.ErrorMessage(err))
			}
		})
		t.Run("ErrWrongKey", func(t *testing.T) {
			useBox(t, s, 9)
			defer useBox(t, s, 1)
			val, err := s.VaultValue(ctx, "SECOND")
			wantCode(t, err, models.CodeUnavailable)
			if val != "" || strings.Contains(err.Error(), "second-value") {
				t.Errorf("VaultValue = %q, %v; want nothing revealed", val, err)
			}
		})
		t.Run("Delete", func(t *testing.T) {
			if err := s.DeleteVaultSecret(ctx, v.ID); err != nil {
				t.Fatal(err)
			}
			_, err := s.VaultValue(ctx, "WEATHER_KEY")
			wantCode(t, err, models.CodeNotFound)
			wantCode(t, s.DeleteVaultSecret(ctx, v.ID), models.CodeNotFound)
		})
	})
}

func TestVaultWithoutBox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		_, err := s.CreateVaultSecret(t.Context(), models.VaultSecret{Name: "K"}, "v")
		wantCode(t, err, models.CodeUnavailable)
		if n := count(t, s, "vault_secrets", ""); n != 0 {
			t.Errorf("vault_secrets = %d, want nothing stored without encryption", n)
		}
	})
}
