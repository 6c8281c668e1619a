package store_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"

	"parley/models"
	"parley/models/store"
	"parley/models/store/storetest"
)

func TestFlash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clk := useClock(s)
		op := mustOperator(t, s, "flash@example.com", models.RoleAdmin)
		mine := mustSession(t, s, op.ID)
		theirs := mustSession(t, s, op.ID)
		const secret = "prl_TOPSECRET-flash-payload"

		put := func(t *testing.T, token, kind, payload string) string {
			t.Helper()
			id, err := s.PutFlash(t.Context(), token, kind, []byte(payload))
			if err != nil {
				t.Fatalf("PutFlash: %v", err)
			}
			if !models.ValidID(id) {
				t.Fatalf("PutFlash id = %q, want an id", id)
			}
			return id
		}
		take := func(t *testing.T, token, kind, id string) (string, error) {
			t.Helper()
			b, err := s.TakeFlash(t.Context(), token, kind, id)
			return string(b), err
		}

		t.Run("OK", func(t *testing.T) {
			id := put(t, mine, "api-secret/1", secret)
			got, err := take(t, mine, "api-secret/1", id)
			if err != nil || got != secret {
				t.Fatalf("TakeFlash = %q, %v; want the payload", got, err)
			}
			if n := count(t, s, "flashes", "id = ?", id); n != 0 {
				t.Errorf("flash rows after taking = %d, want 0", n)
			}
		})
		t.Run("ErrTakenTwice", func(t *testing.T) {
			id := put(t, mine, "api-secret/1", secret)
			if _, err := take(t, mine, "api-secret/1", id); err != nil {
				t.Fatal(err)
			}
			got, err := take(t, mine, "api-secret/1", id)
			wantCode(t, err, models.CodeNotFound)
			if got != "" {
				t.Errorf("second TakeFlash = %q, want nothing", got)
			}
		})
		t.Run("ErrOtherSession", func(t *testing.T) {
			id := put(t, mine, "api-secret/1", secret)
			if _, err := take(t, theirs, "api-secret/1", id); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("another session's TakeFlash: %v, want not found", err)
			}
			// Knowing the session's id (the token's hash, as the database
			// does) is not knowing its token.
			if _, err := take(t, models.HashToken(mine), "api-secret/1", id); models.ErrorCode(err) != models.CodeNotFound {
				t.Errorf("TakeFlash with the session's id: %v, want not found", err)
			}
			if got, err := take(t, mine, "api-secret/1", id); err != nil || got != secret {
				t.Errorf("the owner's TakeFlash after the others = %q, %v; want the payload", got, err)
			}
		})
		t.Run("ErrOtherKind", func(t *testing.T) {
			id := put(t, mine, "api-secret/1", secret)
			_, err := take(t, mine, "api-secret/2", id)
			wantCode(t, err, models.CodeNotFound)
			if got, err := take(t, mine, "api-secret/1", id); err != nil || got != secret {
				t.Errorf("TakeFlash of the right kind = %q, %v", got, err)
			}
		})
		t.Run("ErrBadID", func(t *testing.T) {
			for _, id := range []string{"", "nope", models.NewID()} {
				_, err := take(t, mine, "api-secret/1", id)
				wantCode(t, err, models.CodeNotFound)
			}
		})
		t.Run("ErrExpired", func(t *testing.T) {
			id := put(t, mine, "k", secret)
			clk.Advance(store.FlashTTL)
			_, err := take(t, mine, "k", id)
			wantCode(t, err, models.CodeNotFound)
		})
		t.Run("ExpiredPruned", func(t *testing.T) {
			old := put(t, mine, "k", secret)
			clk.Advance(store.FlashTTL)
			fresh := put(t, theirs, "k", "fresh")
			if n := count(t, s, "flashes", "id = ?", old); n != 0 {
				t.Errorf("expired flash rows = %d after another put, want 0", n)
			}
			if n := count(t, s, "flashes", "id = ?", fresh); n != 1 {
				t.Errorf("fresh flash rows = %d, want 1", n)
			}
		})
		t.Run("EncryptedAtRest", func(t *testing.T) {
			id := put(t, mine, "k", secret)
			var row map[string]any
			if err := s.DB().Table("flashes").Where("id = ?", id).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			for col, v := range row {
				str := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					str = string(b)
				}
				if strings.Contains(str, "TOPSECRET") || strings.Contains(str, base64.StdEncoding.EncodeToString([]byte(secret))[:20]) {
					t.Errorf("column %s holds the payload in the clear", col)
				}
				if strings.Contains(str, mine) {
					t.Errorf("column %s holds the raw session token", col)
				}
			}
			if got := fmt.Sprint(row["session_id"]); got != models.HashToken(mine) {
				t.Errorf("session_id = %q, want the session's id (the token's hash)", got)
			}
		})
		t.Run("OneTakerAtOnce", func(t *testing.T) {
			id := put(t, mine, "k", secret)
			var wg sync.WaitGroup
			got := make(chan string, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if b, err := s.TakeFlash(t.Context(), mine, "k", id); err == nil {
						got <- string(b)
					} else if models.ErrorCode(err) != models.CodeNotFound {
						t.Errorf("TakeFlash: %v", err)
					}
				}()
			}
			wg.Wait()
			close(got)
			if n := len(got); n != 1 {
				t.Errorf("%d takers got the flash, want exactly 1", n)
			}
		})
		t.Run("DeletedWithSession", func(t *testing.T) {
			gone := mustSession(t, s, op.ID)
			id := put(t, gone, "k", secret)
			if err := s.DeleteSession(t.Context(), gone); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "flashes", "id = ?", id); n != 0 {
				t.Errorf("flash rows after sign-out = %d, want 0", n)
			}
		})
		t.Run("ErrNoSession", func(t *testing.T) {
			before := count(t, s, "flashes", "")
			_, err := s.PutFlash(t.Context(), models.NewToken(""), "k", []byte(secret))
			wantCode(t, err, models.CodeUnauthorized)
			_, err = s.PutFlash(t.Context(), "", "k", []byte(secret))
			wantCode(t, err, models.CodeUnauthorized)
			if n := count(t, s, "flashes", ""); n != before {
				t.Errorf("flashes = %d, want %d", n, before)
			}
		})
	})
}
