package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestConversationSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		c := mustConversation(t, s, models.Conversation{Name: "Chat"})

		t.Run("OK", func(t *testing.T) {
			token, sess, err := s.CreateConversationSession(t.Context(), c.ID, nil, time.Hour)
			if err != nil {
				t.Fatalf("CreateConversationSession: %v", err)
			}
			if !strings.HasPrefix(token, store.ConversationTokenPrefix) || len(token) < len(store.ConversationTokenPrefix)+43 {
				t.Errorf("token = %q, want %s and 43 random characters", token, store.ConversationTokenPrefix)
			}
			if store.ConversationTokenPrefix == store.SecretPrefix {
				t.Error("conversation tokens share the API secrets' prefix")
			}
			if !models.ValidID(sess.ID) || sess.ConversationID != c.ID || sess.RevokedAt != nil {
				t.Errorf("session = %+v, want a new id for conversation %s, not revoked", sess, c.ID)
			}
			if sess.TokenHash != models.HashToken(token) {
				t.Errorf("TokenHash = %q, want HashToken(token)", sess.TokenHash)
			}
			if want := clk.Now().Add(time.Hour); !sess.ExpiresAt.Equal(want) || !sess.CreatedAt.Equal(clk.Now()) {
				t.Errorf("ExpiresAt = %v, CreatedAt = %v; want %v, %v", sess.ExpiresAt, sess.CreatedAt, want, clk.Now())
			}

			// The raw token is not stored anywhere: only its hash is.
			var row map[string]any
			if err := s.DB().Table("conversation_sessions").Where("id = ?", sess.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			for col, v := range row {
				str := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					str = string(b)
				}
				if strings.Contains(str, token) || strings.Contains(str, strings.TrimPrefix(token, store.ConversationTokenPrefix)) {
					t.Errorf("column %s holds the raw token", col)
				}
			}
			if n := count(t, s, "conversation_sessions", "token_hash = ?", models.HashToken(token)); n != 1 {
				t.Errorf("rows with the token's hash = %d, want 1", n)
			}

			clk.Advance(time.Hour - time.Second)
			got, err := s.AuthenticateConversationSession(t.Context(), token)
			if err != nil {
				t.Fatalf("AuthenticateConversationSession a second before expiry: %v", err)
			}
			if got.ID != sess.ID || got.ConversationID != c.ID || !got.ExpiresAt.Equal(sess.ExpiresAt) {
				t.Errorf("AuthenticateConversationSession = %+v, want %+v", got, sess)
			}
			wantUTC(t, s, map[string]time.Time{"ExpiresAt": got.ExpiresAt, "CreatedAt": got.CreatedAt})
		})
		t.Run("ErrExpired", func(t *testing.T) {
			token := mustConversationSession(t, s, c.ID, time.Minute)
			clk.Advance(time.Minute) // expiry is exclusive: at ExpiresAt the token is dead
			_, err := s.AuthenticateConversationSession(t.Context(), token)
			wantUnauthorizedSession(t, err)
		})
		t.Run("ErrRevoked", func(t *testing.T) {
			token, sess, err := s.CreateConversationSession(t.Context(), c.ID, nil, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			other := mustConversationSession(t, s, c.ID, time.Hour)
			if err := s.RevokeConversationSession(t.Context(), sess.ID); err != nil {
				t.Fatalf("RevokeConversationSession: %v", err)
			}
			_, err = s.AuthenticateConversationSession(t.Context(), token)
			wantUnauthorizedSession(t, err)
			if _, err := s.AuthenticateConversationSession(t.Context(), other); err != nil {
				t.Errorf("another session stopped working: %v", err)
			}
			revokedAt := clk.Now()
			clk.Advance(time.Minute)
			if err := s.RevokeConversationSession(t.Context(), sess.ID); err != nil {
				t.Errorf("RevokeConversationSession twice: %v, want no error", err)
			}
			var got models.ConversationSession
			if err := s.DB().First(&got, "id = ?", sess.ID).Error; err != nil {
				t.Fatal(err)
			}
			if got.RevokedAt == nil || !got.RevokedAt.Equal(revokedAt) {
				t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, revokedAt)
			}
		})
		t.Run("ErrBadToken", func(t *testing.T) {
			token := mustConversationSession(t, s, c.ID, time.Hour)
			_, secret := mustSecret(t, s, "Not a session", nil)
			for _, tc := range []struct{ name, token string }{
				{"Unknown", models.NewToken(store.ConversationTokenPrefix)},
				{"Garbage", "pcs_garbage"},
				{"NoPrefix", strings.TrimPrefix(token, store.ConversationTokenPrefix)},
				{"WrongPrefix", store.SecretPrefix + strings.TrimPrefix(token, store.ConversationTokenPrefix)},
				{"APISecret", secret},
				{"HashAsToken", models.HashToken(token)},
				{"PrefixedHash", store.ConversationTokenPrefix + models.HashToken(token)},
				{"Truncated", token[:len(token)-1]},
				{"Empty", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.AuthenticateConversationSession(t.Context(), tc.token)
					wantUnauthorizedSession(t, err)
				})
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrUnknownConversation", models.NewID()},
			{"ErrMalformedConversationID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "conversation_sessions", "")
				token, sess, err := s.CreateConversationSession(t.Context(), tc.id, nil, time.Hour)
				wantCode(t, err, models.CodeNotFound)
				if models.ErrorMessage(err) != "Conversation not found." {
					t.Errorf("message = %q, want %q", models.ErrorMessage(err), "Conversation not found.")
				}
				if token != "" || sess != nil {
					t.Errorf("returned %q, %v with an error; want nothing", token, sess)
				}
				if n := count(t, s, "conversation_sessions", ""); n != before {
					t.Errorf("conversation_sessions = %d, want %d", n, before)
				}
			})
		}
		for _, tc := range []struct {
			name string
			ttl  time.Duration
		}{{"ErrZeroTTL", 0}, {"ErrNegativeTTL", -time.Minute}} {
			t.Run(tc.name, func(t *testing.T) {
				before := count(t, s, "conversation_sessions", "")
				token, sess, err := s.CreateConversationSession(t.Context(), c.ID, nil, tc.ttl)
				wantCode(t, err, models.CodeInvalid)
				if token != "" || sess != nil {
					t.Errorf("returned %q, %v with an error; want nothing", token, sess)
				}
				if n := count(t, s, "conversation_sessions", ""); n != before {
					t.Errorf("conversation_sessions = %d, want %d", n, before)
				}
			})
		}
		t.Run("ListLiveOnly", func(t *testing.T) {
			lc := mustConversation(t, s, models.Conversation{Name: "Listed"})
			other := mustConversation(t, s, models.Conversation{Name: "Other"})
			mustConversationSession(t, s, other.ID, time.Hour)
			mustConversationSession(t, s, lc.ID, time.Minute) // expires below
			_, revoked, err := s.CreateConversationSession(t.Context(), lc.ID, nil, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeConversationSession(t.Context(), revoked.ID); err != nil {
				t.Fatal(err)
			}
			var live []string
			for range 3 {
				_, sess, err := s.CreateConversationSession(t.Context(), lc.ID, nil, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				live = append(live, sess.ID)
			}
			clk.Advance(time.Minute)

			var got []string
			page := models.Page{Limit: 2}
			for i := 0; ; i++ {
				items, next, err := s.FindConversationSessions(t.Context(), lc.ID, page)
				if err != nil {
					t.Fatalf("FindConversationSessions: %v", err)
				}
				for _, it := range items {
					got = append(got, it.ID)
				}
				if next == "" {
					break
				}
				if i > 3 {
					t.Fatal("pagination does not end")
				}
				page.Cursor = next
			}
			slices.Reverse(live) // newest first
			if !slices.Equal(got, live) {
				t.Errorf("FindConversationSessions = %v, want the live sessions newest first %v", got, live)
			}
			items, next, err := s.FindConversationSessions(t.Context(), models.NewID(), models.Page{})
			if err != nil || len(items) != 0 || next != "" {
				t.Errorf("FindConversationSessions(unknown conversation) = %v, %q, %v; want none", items, next, err)
			}
		})
		for _, tc := range []struct{ name, id string }{
			{"ErrRevokeNotFound", models.NewID()},
			{"ErrRevokeMalformedID", "nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, s.RevokeConversationSession(t.Context(), tc.id), models.CodeNotFound)
			})
		}
		t.Run("DeletedWithConversation", func(t *testing.T) {
			dc := mustConversation(t, s, models.Conversation{Name: "Doomed"})
			token := mustConversationSession(t, s, dc.ID, time.Hour)
			if err := s.DeleteConversation(t.Context(), dc.ID); err != nil {
				t.Fatal(err)
			}
			_, err := s.AuthenticateConversationSession(t.Context(), token)
			wantUnauthorizedSession(t, err)
			if n := count(t, s, "conversation_sessions", "conversation_id = ?", dc.ID); n != 0 {
				t.Errorf("sessions left = %d, want 0", n)
			}
		})
	})
}

// wantUnauthorizedSession fails the test unless err is the one error every
// bad conversation token gets, whatever was wrong with it.
func wantUnauthorizedSession(t *testing.T, err error) {
	t.Helper()
	wantCode(t, err, models.CodeUnauthorized)
	if got, want := models.ErrorMessage(err), "Invalid or expired session token."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func mustConversationSession(t *testing.T, s *store.Store, conversationID string, ttl time.Duration) string {
	t.Helper()
	token, _, err := s.CreateConversationSession(t.Context(), conversationID, nil, ttl)
	if err != nil {
		t.Fatalf("CreateConversationSession: %v", err)
	}
	return token
}

func TestConversationSessionSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		c := mustConversation(t, s, models.Conversation{Name: "Support chat"})
		secA, _ := mustSecret(t, s, "Widget backend", nil)
		secB, _ := mustSecret(t, s, "Other app", nil)

		t.Run("RecordsSecret", func(t *testing.T) {
			_, sess, err := s.CreateConversationSession(t.Context(), c.ID, &secA.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if sess.SecretID == nil || *sess.SecretID != secA.ID {
				t.Errorf("SecretID = %v, want %s", sess.SecretID, secA.ID)
			}
			got, err := s.FindConversationSession(t.Context(), sess.ID)
			if err != nil {
				t.Fatalf("FindConversationSession: %v", err)
			}
			if got.Secret == nil || got.Secret.Name != "Widget backend" || got.Secret.Prefix != secA.Prefix {
				t.Errorf("Secret = %+v, want the secret's name and prefix", got.Secret)
			}
			if got.Conversation == nil || got.Conversation.Name != "Support chat" {
				t.Errorf("Conversation = %+v, want its name", got.Conversation)
			}
			wantCode(t, func() error { _, err := s.FindConversationSession(t.Context(), models.NewID()); return err }(), models.CodeNotFound)
			wantCode(t, func() error { _, err := s.FindConversationSession(t.Context(), "nope"); return err }(), models.CodeNotFound)
		})
		t.Run("RevokeSecretEndsItsTokens", func(t *testing.T) {
			sec, _ := mustSecret(t, s, "Doomed app", nil)
			a1, s1, err := s.CreateConversationSession(t.Context(), c.ID, &sec.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			a2, _, err := s.CreateConversationSession(t.Context(), c.ID, &sec.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			other, _, err := s.CreateConversationSession(t.Context(), c.ID, &secB.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			none := mustConversationSession(t, s, c.ID, time.Hour)
			clk.Advance(time.Second)
			if err := s.RevokeSecret(t.Context(), sec.ID); err != nil {
				t.Fatalf("RevokeSecret: %v", err)
			}
			for _, tok := range []string{a1, a2} {
				_, err := s.AuthenticateConversationSession(t.Context(), tok)
				wantUnauthorizedSession(t, err)
			}
			for _, tok := range []string{other, none} {
				if _, err := s.AuthenticateConversationSession(t.Context(), tok); err != nil {
					t.Errorf("a token of another secret (or none) stopped working: %v", err)
				}
			}
			var got models.ConversationSession
			if err := s.DB().First(&got, "id = ?", s1.ID).Error; err != nil {
				t.Fatal(err)
			}
			revoked, _ := s.FindSecret(t.Context(), sec.ID)
			if got.RevokedAt == nil || revoked.RevokedAt == nil || !got.RevokedAt.Equal(*revoked.RevokedAt) {
				t.Errorf("token RevokedAt = %v, secret RevokedAt = %v; want both, equal (one transaction)", got.RevokedAt, revoked.RevokedAt)
			}
			if n := count(t, s, "conversation_sessions", "secret_id = ? AND revoked_at IS NULL", sec.ID); n != 0 {
				t.Errorf("live tokens of the revoked secret = %d, want 0", n)
			}
		})
		t.Run("ErrSecretRevokedTokenNot", func(t *testing.T) {
			// A token created while its secret was being revoked (so the
			// revocation did not see it) is refused all the same.
			sec, _ := mustSecret(t, s, "Racing app", nil)
			tok, sess, err := s.CreateConversationSession(t.Context(), c.ID, &sec.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Table("api_secrets").Where("id = ?", sec.ID).Update("revoked_at", clk.Now()).Error; err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "conversation_sessions", "id = ? AND revoked_at IS NULL", sess.ID); n != 1 {
				t.Fatalf("the token itself is revoked (%d live); the test needs it live", n)
			}
			_, err = s.AuthenticateConversationSession(t.Context(), tok)
			wantUnauthorizedSession(t, err)
			live, _, err := s.FindConversationSessions(t.Context(), c.ID, models.Page{Limit: models.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range live {
				if l.ID == sess.ID {
					t.Error("FindConversationSessions lists a token whose secret is revoked as live")
				}
			}
		})
		t.Run("LastUsedAtOncePerMinute", func(t *testing.T) {
			tok, sess, err := s.CreateConversationSession(t.Context(), c.ID, &secA.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			lastUsed := func() *time.Time {
				t.Helper()
				got, err := s.FindConversationSession(t.Context(), sess.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.LastUsedAt
			}
			if lu := lastUsed(); lu != nil {
				t.Errorf("LastUsedAt = %v before any use, want nil", lu)
			}
			first := clk.Now()
			got, err := s.AuthenticateConversationSession(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) {
				t.Errorf("returned LastUsedAt = %v, want %v", got.LastUsedAt, first)
			}
			if lu := lastUsed(); lu == nil || !lu.Equal(first) {
				t.Errorf("stored LastUsedAt = %v, want %v", lu, first)
			}
			clk.Advance(time.Minute) // not more than a minute: no write
			if _, err := s.AuthenticateConversationSession(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
			if lu := lastUsed(); lu == nil || !lu.Equal(first) {
				t.Errorf("LastUsedAt = %v a minute later, want it unchanged (%v)", lu, first)
			}
			clk.Advance(time.Second)
			if _, err := s.AuthenticateConversationSession(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
			if lu := lastUsed(); lu == nil || !lu.Equal(clk.Now()) {
				t.Errorf("LastUsedAt = %v after more than a minute, want %v", lu, clk.Now())
			}
			if lu := lastUsed(); lu != nil {
				wantUTC(t, s, map[string]time.Time{"LastUsedAt": *lu})
			}
		})
		t.Run("ListEveryConversation", func(t *testing.T) {
			ls := storetest.Open(t, s.Dialect())
			lclk := useClock(ls)
			c1 := mustConversation(t, ls, models.Conversation{Name: "First"})
			c2 := mustConversation(t, ls, models.Conversation{})
			sec, _ := mustSecret(t, ls, "Lister", nil)
			var want []string
			for i, conv := range []*models.Conversation{c1, c2, c1} {
				sid := &sec.ID
				if i == 1 {
					sid = nil
				}
				_, sess, err := ls.CreateConversationSession(t.Context(), conv.ID, sid, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, sess.ID)
			}
			_, dead, err := ls.CreateConversationSession(t.Context(), c2.ID, nil, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if err := ls.RevokeConversationSession(t.Context(), dead.ID); err != nil {
				t.Fatal(err)
			}
			mustConversationSession(t, ls, c1.ID, time.Minute)
			lclk.Advance(time.Minute)

			var got []models.ConversationSession
			page := models.Page{Limit: 2}
			for i := 0; ; i++ {
				items, next, err := ls.FindConversationSessions(t.Context(), "", page)
				if err != nil {
					t.Fatalf("FindConversationSessions: %v", err)
				}
				got = append(got, items...)
				if next == "" {
					break
				}
				if i > 3 {
					t.Fatal("pagination does not end")
				}
				page.Cursor = next
			}
			slices.Reverse(want)
			var gotIDs []string
			for _, g := range got {
				gotIDs = append(gotIDs, g.ID)
			}
			if !slices.Equal(gotIDs, want) {
				t.Fatalf("FindConversationSessions(\"\") = %v, want every live session newest first %v", gotIDs, want)
			}
			if got[0].Conversation == nil || got[0].Conversation.Name != "First" || got[0].Secret == nil || got[0].Secret.Name != "Lister" {
				t.Errorf("first item refs = %+v / %+v, want conversation First and secret Lister", got[0].Conversation, got[0].Secret)
			}
			if got[1].Conversation == nil || got[1].Conversation.ID != c2.ID || got[1].Secret != nil {
				t.Errorf("second item refs = %+v / %+v, want conversation %s and no secret", got[1].Conversation, got[1].Secret, c2.ID)
			}
		})
		t.Run("RevokeEveryTokenOfConversation", func(t *testing.T) {
			rc := mustConversation(t, s, models.Conversation{Name: "Revoke all"})
			oc := mustConversation(t, s, models.Conversation{Name: "Untouched"})
			t1 := mustConversationSession(t, s, rc.ID, time.Hour)
			t2, _, err := s.CreateConversationSession(t.Context(), rc.ID, &secA.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			keep := mustConversationSession(t, s, oc.ID, time.Hour)
			n, err := s.RevokeConversationSessions(t.Context(), rc.ID)
			if err != nil {
				t.Fatalf("RevokeConversationSessions: %v", err)
			}
			if n != 2 {
				t.Errorf("revoked %d, want 2", n)
			}
			for _, tok := range []string{t1, t2} {
				_, err := s.AuthenticateConversationSession(t.Context(), tok)
				wantUnauthorizedSession(t, err)
			}
			if _, err := s.AuthenticateConversationSession(t.Context(), keep); err != nil {
				t.Errorf("another conversation's token stopped working: %v", err)
			}
			if n, err := s.RevokeConversationSessions(t.Context(), rc.ID); err != nil || n != 0 {
				t.Errorf("RevokeConversationSessions again = %d, %v; want 0, nil", n, err)
			}
			for _, id := range []string{models.NewID(), "nope"} {
				_, err := s.RevokeConversationSessions(t.Context(), id)
				wantCode(t, err, models.CodeNotFound)
			}
		})
	})
}
