package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestCreateSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		admin := mustOperator(t, s, "admin@example.com", models.RoleAdmin)

		t.Run("OK", func(t *testing.T) {
			sec, raw, err := s.CreateSecret(t.Context(), "  Deploy bot  ", &admin.ID)
			if err != nil {
				t.Fatalf("CreateSecret: %v", err)
			}
			if !strings.HasPrefix(raw, "prl_") || len(raw) < len("prl_")+43 {
				t.Errorf("raw = %q, want prl_ and 43 random characters", raw)
			}
			if sec.Name != "Deploy bot" {
				t.Errorf("Name = %q, want trimmed", sec.Name)
			}
			if !strings.HasPrefix(raw, sec.Prefix) || len(sec.Prefix) <= len("prl_") || len(sec.Prefix) > 16 {
				t.Errorf("Prefix = %q, want a short prefix of %q longer than prl_", sec.Prefix, raw)
			}

			// The raw value is not stored anywhere: only its hash and prefix are.
			var row map[string]any
			if err := s.DB().Table("api_secrets").Where("id = ?", sec.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			for col, v := range row {
				if str := fmt.Sprint(v); strings.Contains(str, raw) {
					t.Errorf("column %s holds the raw secret", col)
				}
				if b, ok := v.([]byte); ok && strings.Contains(string(b), raw) {
					t.Errorf("column %s holds the raw secret", col)
				}
			}
			hash := fmt.Sprint(row["hash"])
			if hash == raw || hash != models.HashToken(raw) {
				t.Errorf("stored hash = %q, want HashToken(raw) = %q", hash, models.HashToken(raw))
			}
			if prefix := fmt.Sprint(row["prefix"]); !strings.HasPrefix(raw, prefix) {
				t.Errorf("stored prefix %q is not a prefix of the raw secret", prefix)
			}

			found, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatalf("FindSecret: %v", err)
			}
			if found.CreatedByID == nil || *found.CreatedByID != admin.ID || found.CreatedBy == nil || found.CreatedBy.Email != "admin@example.com" {
				t.Errorf("CreatedBy = %v / %v, want the admin", found.CreatedByID, found.CreatedBy)
			}
			if found.LastUsedAt != nil || found.RevokedAt != nil {
				t.Errorf("LastUsedAt = %v, RevokedAt = %v; want nil for a new secret", found.LastUsedAt, found.RevokedAt)
			}
			wantUTC(t, s, map[string]time.Time{"CreatedAt": found.CreatedAt})
		})
		t.Run("EachSecretDiffers", func(t *testing.T) {
			_, a := mustSecret(t, s, "A", nil)
			_, b := mustSecret(t, s, "B", nil)
			if a == b {
				t.Errorf("two secrets share the value %q", a)
			}
		})
		t.Run("WithoutCreator", func(t *testing.T) {
			sec, _ := mustSecret(t, s, "System", nil)
			found, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.CreatedByID != nil || found.CreatedBy != nil {
				t.Errorf("CreatedBy = %v / %v, want nil", found.CreatedByID, found.CreatedBy)
			}
		})
		for _, tc := range []struct{ name, secretName string }{
			{"ErrNameRequired", "   "},
			{"ErrNameTooLong", strings.Repeat("n", 201)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "api_secrets", "")
				_, raw, err := s.CreateSecret(t.Context(), tc.secretName, nil)
				wantFieldErrors(t, err, "name")
				if raw != "" {
					t.Errorf("raw = %q returned with an error, want empty", raw)
				}
				if got := count(t, s, "api_secrets", ""); got != before {
					t.Errorf("api_secrets = %d, want %d", got, before)
				}
			})
		}
	})
}

func TestAuthenticateSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)

		t.Run("OK", func(t *testing.T) {
			sec, raw := mustSecret(t, s, "CI", nil)
			clk.Advance(time.Hour)
			got, err := s.AuthenticateSecret(t.Context(), raw)
			if err != nil {
				t.Fatalf("AuthenticateSecret: %v", err)
			}
			if got.ID != sec.ID {
				t.Errorf("AuthenticateSecret = %s, want %s", got.ID, sec.ID)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(clk.Now()) {
				t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, clk.Now())
			}
			found, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.LastUsedAt == nil || !found.LastUsedAt.Equal(clk.Now()) {
				t.Errorf("stored LastUsedAt = %v, want %v", found.LastUsedAt, clk.Now())
			}
			if found.LastUsedAt != nil {
				wantUTC(t, s, map[string]time.Time{"LastUsedAt": *found.LastUsedAt})
			}
		})
		t.Run("Unauthorized", func(t *testing.T) {
			_, raw := mustSecret(t, s, "Real", nil)
			for _, tc := range []struct{ name, raw string }{
				{"ErrWrongValue", models.NewToken(store.SecretPrefix)},
				{"ErrOneCharacterOff", raw[:len(raw)-1] + flip(raw[len(raw)-1])},
				{"ErrTruncated", raw[:len(raw)-1]},
				{"ErrPrefixOnly", raw[:12]},
				{"ErrNoPrefix", strings.TrimPrefix(raw, store.SecretPrefix)},
				{"ErrHashAsValue", models.HashToken(raw)},
				{"ErrEmpty", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.AuthenticateSecret(t.Context(), tc.raw)
					wantCode(t, err, models.CodeUnauthorized)
				})
			}
		})
		t.Run("Revoked", func(t *testing.T) {
			sec, raw := mustSecret(t, s, "Leaked", nil)
			other, otherRaw := mustSecret(t, s, "Fine", nil)
			if err := s.RevokeSecret(t.Context(), sec.ID); err != nil {
				t.Fatalf("RevokeSecret: %v", err)
			}
			revokedAt := clk.Now()
			_, err := s.AuthenticateSecret(t.Context(), raw)
			wantCode(t, err, models.CodeUnauthorized)
			if _, err := s.AuthenticateSecret(t.Context(), otherRaw); err != nil {
				t.Errorf("another secret stopped working: %v", err)
			}

			clk.Advance(time.Hour)
			if err := s.RevokeSecret(t.Context(), sec.ID); err != nil {
				t.Errorf("RevokeSecret twice: %v, want no error", err)
			}
			found, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if found.RevokedAt == nil || !found.RevokedAt.Equal(revokedAt) {
				t.Errorf("RevokedAt = %v, want the first revocation %v", found.RevokedAt, revokedAt)
			}
			o, err := s.FindSecret(t.Context(), other.ID)
			if err != nil {
				t.Fatal(err)
			}
			if o.RevokedAt != nil {
				t.Errorf("other secret RevokedAt = %v, want not revoked", o.RevokedAt)
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrRevokeNotFound", models.NewID()},
			{"ErrRevokeMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.RevokeSecret(t.Context(), tc.id), models.CodeNotFound)
				_, err := s.FindSecret(t.Context(), tc.id)
				wantCode(t, err, models.CodeNotFound)
			})
		}
	})
}

// flip returns a different URL-safe character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestAuthenticateSecretLastUsedAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		sec, raw := mustSecret(t, s, "Busy", nil)
		// use authenticates and returns the LastUsedAt it reported and the one stored.
		use := func(t *testing.T) (got, stored time.Time) {
			t.Helper()
			a, err := s.AuthenticateSecret(t.Context(), raw)
			if err != nil {
				t.Fatalf("AuthenticateSecret: %v", err)
			}
			f, err := s.FindSecret(t.Context(), sec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if a.LastUsedAt == nil || f.LastUsedAt == nil {
				t.Fatalf("LastUsedAt = %v, stored %v; want both set", a.LastUsedAt, f.LastUsedAt)
			}
			return *a.LastUsedAt, *f.LastUsedAt
		}

		first := clk.Now()
		if got, stored := use(t); !got.Equal(first) || !stored.Equal(first) {
			t.Errorf("first use: LastUsedAt = %v, stored %v; want %v", got, stored, first)
		}
		clk.Advance(10 * time.Second)
		// Within a minute: no write, and the stored value is what is returned.
		if got, stored := use(t); !got.Equal(first) || !stored.Equal(first) {
			t.Errorf("use 10s later: LastUsedAt = %v, stored %v; want both still %v (no write)", got, stored, first)
		}
		clk.Advance(2 * time.Minute)
		if got, stored := use(t); !got.Equal(clk.Now()) || !stored.Equal(clk.Now()) {
			t.Errorf("use 2m later: LastUsedAt = %v, stored %v; want %v (written again)", got, stored, clk.Now())
		}
	})
}

// TestAuthenticateSecretHit: authenticating counts the request on the
// secret's own bucket (refused past the limit, with the time to the next
// window); a revoked, unknown or malformed secret is refused and counts
// nothing.
func TestAuthenticateSecretHit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		now := time.Date(2026, 12, 2, 10, 0, 45, 0, time.UTC)
		s.Now = func() time.Time { return now }
		sec, raw, err := s.CreateSecret(ctx, "hits", nil)
		if err != nil {
			t.Fatal(err)
		}
		other, otherRaw, err := s.CreateSecret(ctx, "other", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			got, ok, _, err := s.AuthenticateSecretHit(ctx, raw, "secret:", 3, time.Minute)
			if err != nil || !ok || got.ID != sec.ID || got.LastUsedAt == nil {
				t.Fatalf("hit %d: %+v, %v, %v", i+1, got, ok, err)
			}
		}
		got, ok, retry, err := s.AuthenticateSecretHit(ctx, raw, "secret:", 3, time.Minute)
		if err != nil || ok || got == nil || retry != 15*time.Second {
			t.Errorf("fourth hit: %v, ok %v, retry %v, %v; want refused, retry 15s", got, ok, retry, err)
		}
		if _, ok, _, err := s.AuthenticateSecretHit(ctx, otherRaw, "secret:", 3, time.Minute); err != nil || !ok {
			t.Errorf("another secret: ok %v, %v; want its own allowance", ok, err)
		}
		if err := s.RevokeSecret(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{otherRaw, "prl_unknown", "nope"} {
			if _, _, _, err := s.AuthenticateSecretHit(ctx, bad, "secret:", 3, time.Minute); models.ErrorCode(err) != models.CodeUnauthorized {
				t.Errorf("%q: err = %v, want unauthorized", bad, err)
			}
		}
		var count int64
		if err := s.DB().Raw(`SELECT coalesce(sum("count"), 0) FROM rate_limits WHERE bucket = ?`, "secret:"+other.ID).Scan(&count).Error; err != nil {
			t.Fatal(err)
		}
		if count != 1 {
			t.Errorf("the revoked secret's bucket counts %d, want 1 (its one accepted request)", count)
		}
		now = now.Add(15 * time.Second) // the next window
		if _, ok, _, err := s.AuthenticateSecretHit(ctx, raw, "secret:", 3, time.Minute); err != nil || !ok {
			t.Errorf("next window: ok %v, %v", ok, err)
		}
	})
}
